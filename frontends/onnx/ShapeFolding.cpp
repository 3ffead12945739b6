// Shape folding: every node whose inputs are all known at import (initializers, Constants, earlier
// folds, and for Shape/Size any tensor, since Kiln's shapes are static) is evaluated here and its
// outputs become constants, with ONNX's semantics: int64 arithmetic (Div truncates), float where
// the constants are float. Reshape, Resize, Expand, Tile, Pad and Slice then read the folded
// operands as they read constants. A fold-only op (Shape, Range, Equal, Where, ...) whose input
// depends on the data is an error naming the node.
#include "frontends/onnx/Importer.h"

#include <cmath>
#include <functional>

namespace kiln::onnxfe {
namespace {

using onnx::TensorProto;

/// A constant tensor during folding: integer (and BOOL) values in `ints`, floating ones in `reals`.
struct Folded {
  int32_t type = TensorProto::INT64;
  std::vector<int64_t> shape;
  std::vector<int64_t> ints;
  std::vector<double> reals;

  static bool isRealType(int32_t t) {
    return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
           t == TensorProto::BFLOAT16;
  }
  bool real() const { return isRealType(type); }
  int64_t size() const { return HostTensor::numElements(shape); }
  double at(int64_t k) const { return real() ? reals[k] : double(ints[k]); }
  void push(double v) { real() ? reals.push_back(v) : ints.push_back(int64_t(v)); }
};

FailureOr<Folded> readFolded(const TensorProto &t, std::string &error) {
  Folded f;
  f.type = t.data_type();
  auto dims = tensorDims(t, error);
  if (failed(dims))
    return failure();
  f.shape = *dims;
  if (f.real()) {
    auto tensor = toFloatTensor(t, error);
    if (failed(tensor))
      return failure();
    f.reals.assign(tensor->data.begin(), tensor->data.end());
    return f;
  }
  auto values = toInt64Values(t, error);
  if (failed(values))
    return failure();
  f.ints = std::move(*values);
  return f;
}

TensorProto writeFolded(const Folded &f, const std::string &name) {
  TensorProto t;
  t.set_name(name);
  for (int64_t d : f.shape)
    t.add_dims(d);
  if (f.real()) {
    t.set_data_type(TensorProto::FLOAT);
    for (double v : f.reals)
      t.add_float_data(static_cast<float>(v));
  } else if (f.type == TensorProto::BOOL) {
    t.set_data_type(TensorProto::BOOL);
    for (int64_t v : f.ints)
      t.add_int32_data(v != 0);
  } else {
    t.set_data_type(TensorProto::INT64);
    for (int64_t v : f.ints)
      t.add_int64_data(v);
  }
  return t;
}

/// The flat index into `in` (broadcast to `out`, numpy rule) of element `flat` of `out`.
int64_t broadcastSource(int64_t flat, ArrayRef<int64_t> out, ArrayRef<int64_t> in) {
  int64_t index = 0, stride = 1;
  for (int64_t d = out.size() - 1, k = in.size() - 1; d >= 0; --d, --k) {
    int64_t coord = flat % out[d];
    flat /= out[d];
    if (k >= 0) {
      if (in[k] != 1)
        index += coord * stride;
      stride *= in[k];
    }
  }
  return index;
}

/// The numpy broadcast of the inputs' shapes (zero-size dimensions allowed).
FailureOr<std::vector<int64_t>> broadcastShape(ArrayRef<Folded> ins, std::string &error) {
  std::vector<int64_t> out;
  for (const Folded &f : ins) {
    size_t rank = std::max(out.size(), f.shape.size());
    std::vector<int64_t> next(rank);
    for (size_t k = 0; k < rank; ++k) {
      int64_t a = k < out.size() ? out[out.size() - 1 - k] : 1;
      int64_t b = k < f.shape.size() ? f.shape[f.shape.size() - 1 - k] : 1;
      if (a != b && a != 1 && b != 1) {
        error = "shapes [" + nn::formatShape(out) + "] and [" + nn::formatShape(f.shape) + "] do not broadcast";
        return failure();
      }
      next[rank - 1 - k] = a == 1 ? b : a;
    }
    out = std::move(next);
  }
  return out;
}

/// out[k] = fn(inputs at k) over the numpy broadcast of the inputs; `type` is the result's.
FailureOr<Folded> broadcastMap(ArrayRef<Folded> ins, int32_t type, const std::function<double(ArrayRef<double>)> &fn,
                               std::string &error) {
  auto shape = broadcastShape(ins, error);
  if (failed(shape))
    return failure();
  Folded out{type, *shape, {}, {}};
  SmallVector<double, 4> args(ins.size());
  for (int64_t k = 0, n = out.size(); k < n; ++k) {
    for (size_t j = 0; j < ins.size(); ++j)
      args[j] = ins[j].at(broadcastSource(k, out.shape, ins[j].shape));
    out.push(fn(args));
  }
  return out;
}

/// Integer elementwise arithmetic keeps int64 exactly (doubles would round past 2^53).
FailureOr<Folded> integerMap(const Folded &a, const Folded &b,
                             const std::function<FailureOr<int64_t>(int64_t, int64_t)> &fn, std::string &error) {
  auto shape = broadcastShape({a, b}, error);
  if (failed(shape))
    return failure();
  Folded out{a.type, *shape, {}, {}};
  for (int64_t k = 0, n = out.size(); k < n; ++k) {
    FailureOr<int64_t> v = fn(a.ints[broadcastSource(k, out.shape, a.shape)], b.ints[broadcastSource(k, out.shape, b.shape)]);
    if (failed(v)) {
      error = "divides by zero";
      return failure();
    }
    out.ints.push_back(*v);
  }
  return out;
}

struct FoldInputs {
  const onnx::NodeProto &node;
  ArrayRef<std::optional<Folded>> in; ///< per input; nullopt when absent
  int64_t opset;
  std::string &error;

  NodeAttrs attrs() const { return NodeAttrs(node); }
  bool has(size_t k) const { return k < in.size() && in[k].has_value(); }
  const Folded &operator[](size_t k) const { return *in[k]; }
  /// The given inputs, in order.
  SmallVector<Folded> present() const {
    SmallVector<Folded> out;
    for (const auto &f : in)
      if (f)
        out.push_back(*f);
    return out;
  }
  FailureOr<Folded> fail(const std::string &message) const {
    error = message;
    return failure();
  }
};

using Folder = FailureOr<Folded> (*)(const FoldInputs &);

FailureOr<Folded> shapeList(std::vector<int64_t> values) {
  Folded f;
  f.shape = {int64_t(values.size())};
  f.ints = std::move(values);
  return f;
}

FailureOr<Folded> foldShape(const FoldInputs &f) {
  const std::vector<int64_t> &shape = f[0].shape;
  int64_t rank = shape.size();
  auto start = f.attrs().getInt("start", 0, f.error), end = f.attrs().getInt("end", rank, f.error);
  if (failed(start) || failed(end))
    return failure();
  auto clampAxis = [&](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
  int64_t s = clampAxis(*start), e = std::max(s, clampAxis(*end));
  return shapeList(std::vector<int64_t>(shape.begin() + s, shape.begin() + e));
}

FailureOr<Folded> foldSize(const FoldInputs &f) {
  Folded out;
  out.ints = {HostTensor::numElements(f[0].shape)};
  return out;
}

FailureOr<Folded> foldArithmetic(const FoldInputs &f) {
  StringRef op = f.node.op_type();
  SmallVector<Folded> ins = f.present();
  Folded acc = ins[0];
  for (const Folded &next : ArrayRef<Folded>(ins).drop_front()) {
    FailureOr<Folded> r = failure();
    if (!acc.real() && !next.real()) {
      r = integerMap(acc, next, [&](int64_t a, int64_t b) -> FailureOr<int64_t> {
        if (op == "Add" || op == "Sum") return a + b;
        if (op == "Sub") return a - b;
        if (op == "Mul") return a * b;
        if (op == "Max") return std::max(a, b);
        if (op == "Min") return std::min(a, b);
        if (op == "Div") return b == 0 ? FailureOr<int64_t>(failure()) : FailureOr<int64_t>(a / b);
        if (op == "Mod") return b == 0 ? FailureOr<int64_t>(failure()) : FailureOr<int64_t>(((a % b) + b) % b);
        int64_t p = 1; // Pow with a non-negative integer exponent
        for (int64_t k = 0; k < b; ++k)
          p *= a;
        return p;
      }, f.error);
    } else {
      r = broadcastMap({acc, next}, acc.real() ? acc.type : next.type, [&](ArrayRef<double> v) {
        if (op == "Add" || op == "Sum") return v[0] + v[1];
        if (op == "Sub") return v[0] - v[1];
        if (op == "Mul") return v[0] * v[1];
        if (op == "Div") return v[0] / v[1];
        if (op == "Max") return std::max(v[0], v[1]);
        if (op == "Min") return std::min(v[0], v[1]);
        if (op == "Mod") return std::fmod(v[0], v[1]);
        return std::pow(v[0], v[1]);
      }, f.error);
    }
    if (failed(r))
      return failure();
    acc = std::move(*r);
  }
  return acc;
}

FailureOr<Folded> foldComparison(const FoldInputs &f) {
  StringRef op = f.node.op_type();
  SmallVector<Folded> ins = f.present();
  return broadcastMap(ins, TensorProto::BOOL, [&](ArrayRef<double> v) -> double {
    if (op == "Equal") return v[0] == v[1];
    if (op == "Greater") return v[0] > v[1];
    if (op == "Less") return v[0] < v[1];
    if (op == "GreaterOrEqual") return v[0] >= v[1];
    if (op == "LessOrEqual") return v[0] <= v[1];
    if (op == "And") return v[0] != 0 && v[1] != 0;
    if (op == "Or") return v[0] != 0 || v[1] != 0;
    return v[0] == 0; // Not
  }, f.error);
}

FailureOr<Folded> foldUnary(const FoldInputs &f) {
  StringRef op = f.node.op_type();
  if (!f[0].real() && (op == "Floor" || op == "Ceil"))
    return f[0];
  if (!f[0].real() && op != "Neg" && op != "Abs")
    return f.fail(op.str() + " of an integer tensor");
  return broadcastMap({f[0]}, f[0].type, [&](ArrayRef<double> v) {
    double x = v[0];
    if (op == "Floor") return std::floor(x);
    if (op == "Ceil") return std::ceil(x);
    if (op == "Neg") return -x;
    if (op == "Abs") return std::fabs(x);
    if (op == "Sqrt") return std::sqrt(x);
    if (op == "Reciprocal") return 1.0 / x;
    if (op == "Exp") return std::exp(x);
    return std::log(x);
  }, f.error);
}

FailureOr<Folded> foldCast(const FoldInputs &f) {
  const onnx::AttributeProto *to = f.attrs().find("to");
  TensorProto::DataType type = TensorProto::UNDEFINED;
  if (to && to->type() == onnx::AttributeProto::INT && TensorProto::DataType_IsValid(to->i()))
    type = static_cast<TensorProto::DataType>(to->i());
  else if (to && to->type() == onnx::AttributeProto::STRING) // Cast-1 names the type
    TensorProto::DataType_Parse(to->s(), &type);
  if (type == TensorProto::UNDEFINED || type == TensorProto::STRING)
    return f.fail("attribute 'to' must name a numeric tensor type");
  return broadcastMap({f[0]}, type, [&](ArrayRef<double> v) {
    if (type == TensorProto::BOOL)
      return double(v[0] != 0);
    return Folded::isRealType(type) ? v[0] : std::trunc(v[0]);
  }, f.error);
}

FailureOr<Folded> foldWhere(const FoldInputs &f) {
  return broadcastMap({f[0], f[1], f[2]}, f[1].type, [](ArrayRef<double> v) { return v[0] != 0 ? v[1] : v[2]; },
                      f.error);
}

FailureOr<Folded> foldRange(const FoldInputs &f) {
  if (f[0].size() != 1 || f[1].size() != 1 || f[2].size() != 1)
    return f.fail("start, limit and delta must be scalars");
  double start = f[0].at(0), limit = f[1].at(0), delta = f[2].at(0);
  if (delta == 0)
    return f.fail("delta is 0");
  int64_t count = std::max<int64_t>(std::ceil((limit - start) / delta), 0);
  Folded out{f[0].type, {count}, {}, {}};
  for (int64_t k = 0; k < count; ++k)
    out.push(start + k * delta);
  if (!out.real()) { // exact for integers
    for (int64_t k = 0; k < count; ++k)
      out.ints[k] = f[0].ints[0] + k * f[2].ints[0];
  }
  return out;
}

FailureOr<Folded> foldConstantOfShape(const FoldInputs &f) {
  Folded out{TensorProto::FLOAT, f[0].ints, {}, {}};
  double value = 0;
  if (const onnx::AttributeProto *a = f.attrs().find("value")) {
    auto v = readFolded(a->t(), f.error);
    if (failed(v) || v->size() != 1)
      return f.fail("attribute 'value' must be a one-element tensor");
    out.type = v->type;
    value = v->at(0);
  }
  for (int64_t d : out.shape)
    if (d < 0)
      return f.fail("a negative dimension in the shape");
  for (int64_t k = 0, n = out.size(); k < n; ++k)
    out.push(value);
  return out;
}

/// out[k] = in[source(k)]: the data movement folds (Gather, Slice, Concat) as an index map.
Folded gatherElements(const std::vector<const Folded *> &sources, std::vector<int64_t> shape,
                      const std::function<std::pair<int, int64_t>(ArrayRef<int64_t>)> &source) {
  Folded out{sources[0]->type, std::move(shape), {}, {}};
  SmallVector<int64_t> index(out.shape.size(), 0);
  for (int64_t k = 0, n = out.size(); k < n; ++k) {
    int64_t rest = k;
    for (int64_t d = index.size() - 1; d >= 0; --d) {
      index[d] = rest % out.shape[d];
      rest /= out.shape[d];
    }
    auto [which, flat] = source(index);
    out.push(sources[which]->at(flat));
    if (!out.real())
      out.ints.back() = sources[which]->ints[flat]; // exact
  }
  return out;
}

int64_t flatIndex(ArrayRef<int64_t> index, ArrayRef<int64_t> shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + index[d];
  return flat;
}

FailureOr<Folded> foldGather(const FoldInputs &f) {
  const Folded &data = f[0], &indices = f[1];
  int64_t rank = data.shape.size();
  auto axisAttr = f.attrs().getInt("axis", 0, f.error);
  if (failed(axisAttr))
    return failure();
  int64_t axis = *axisAttr < 0 ? *axisAttr + rank : *axisAttr;
  if (axis < 0 || axis >= rank || indices.real())
    return f.fail("expected an integer index tensor and an axis in range");
  int64_t d = data.shape[axis];
  std::vector<int64_t> idx = indices.ints;
  for (int64_t &v : idx) {
    if (v < -d || v >= d)
      return f.fail("index " + std::to_string(v) + " is out of range for axis " + std::to_string(axis) +
                    " of size " + std::to_string(d));
    v = v < 0 ? v + d : v;
  }
  std::vector<int64_t> shape(data.shape.begin(), data.shape.begin() + axis);
  shape.insert(shape.end(), indices.shape.begin(), indices.shape.end());
  shape.insert(shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  int64_t q = indices.shape.size();
  return gatherElements({&data}, shape, [&](ArrayRef<int64_t> out) {
    SmallVector<int64_t> in(out.begin(), out.begin() + axis);
    in.push_back(idx[flatIndex(out.slice(axis, q), indices.shape)]);
    in.append(out.begin() + axis + q, out.end());
    return std::make_pair(0, flatIndex(in, data.shape));
  });
}

FailureOr<Folded> foldSlice(const FoldInputs &f) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (f.opset < 10) {
    for (auto [name, list] : {std::pair<StringRef, std::vector<int64_t> *>{"starts", &starts}, {"ends", &ends},
                              {"axes", &axes}}) {
      auto v = f.attrs().getInts(name, f.error);
      if (failed(v))
        return failure();
      if (*v)
        *list = **v;
    }
  } else {
    starts = f[1].ints;
    ends = f[2].ints;
    if (f.has(3))
      axes = f[3].ints;
    if (f.has(4))
      steps = f[4].ints;
  }
  auto w = resolveSlice(f[0].shape, starts, ends, axes.empty() ? std::nullopt : std::optional<ArrayRef<int64_t>>(axes),
                        steps.empty() ? std::nullopt : std::optional<ArrayRef<int64_t>>(steps), f.error);
  if (failed(w))
    return failure();
  return gatherElements({&f[0]}, std::vector<int64_t>(w->counts.begin(), w->counts.end()), [&](ArrayRef<int64_t> out) {
    SmallVector<int64_t> in;
    for (size_t d = 0; d < out.size(); ++d)
      in.push_back(w->starts[d] + out[d] * w->steps[d]);
    return std::make_pair(0, flatIndex(in, f[0].shape));
  });
}

/// Transpose of a constant by `perm` (default: the dimensions reversed), e.g. the pads a
/// ZeroPad2d export computes with ConstantOfShape, Cast, Transpose and Slice.
FailureOr<Folded> foldTranspose(const FoldInputs &f) {
  const int64_t rank = f[0].shape.size();
  auto given = f.attrs().getInts("perm", f.error);
  if (failed(given))
    return failure();
  std::vector<int64_t> perm(rank);
  for (int64_t d = 0; d < rank; ++d)
    perm[d] = rank - 1 - d;
  if (*given)
    perm = **given;
  std::vector<int64_t> sorted = perm;
  llvm::sort(sorted);
  for (int64_t d = 0; d < rank; ++d)
    if (int64_t(sorted.size()) != rank || sorted[d] != d)
      return f.fail("perm is not a permutation of the input's dimensions");
  std::vector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(f[0].shape[p]);
  return gatherElements({&f[0]}, shape, [&](ArrayRef<int64_t> out) {
    SmallVector<int64_t> in(rank);
    for (int64_t d = 0; d < rank; ++d)
      in[perm[d]] = out[d];
    return std::make_pair(0, flatIndex(in, f[0].shape));
  });
}

FailureOr<Folded> foldConcat(const FoldInputs &f) {
  SmallVector<Folded> ins = f.present();
  int64_t rank = ins[0].shape.size();
  auto axisAttr = f.attrs().getInt("axis", 1, f.error);
  if (failed(axisAttr))
    return failure();
  int64_t axis = *axisAttr < 0 ? *axisAttr + rank : *axisAttr;
  std::vector<int64_t> shape = ins[0].shape;
  if (axis < 0 || axis >= rank)
    return f.fail("axis out of range");
  std::vector<const Folded *> sources;
  std::vector<int64_t> offsets;
  shape[axis] = 0;
  bool real = false;
  for (const Folded &in : ins) {
    if (int64_t(in.shape.size()) != rank)
      return f.fail("inputs of different ranks");
    real |= in.real();
    offsets.push_back(shape[axis]);
    shape[axis] += in.shape[axis];
    sources.push_back(&in);
  }
  if (real && llvm::any_of(ins, [](const Folded &in) { return !in.real(); }))
    return f.fail("inputs of different types");
  return gatherElements(sources, shape, [&](ArrayRef<int64_t> out) {
    int which = std::upper_bound(offsets.begin(), offsets.end(), out[axis]) - offsets.begin() - 1;
    SmallVector<int64_t> in(out.begin(), out.end());
    in[axis] -= offsets[which];
    return std::make_pair(which, flatIndex(in, sources[which]->shape));
  });
}

/// Squeeze, Unsqueeze, Reshape, Flatten and Expand of a constant: the same values, a new shape.
FailureOr<Folded> foldReshaping(const FoldInputs &f) {
  StringRef op = f.node.op_type();
  Folded out = f[0];
  if (op == "Squeeze" || op == "Unsqueeze") {
    std::optional<std::vector<int64_t>> axes;
    if (f.opset >= 13) {
      if (f.has(1))
        axes = f[1].ints;
    } else {
      auto a = f.attrs().getInts("axes", f.error);
      if (failed(a))
        return failure();
      axes = *a;
    }
    auto shape = squeezedShape(out.shape, axes ? std::optional<ArrayRef<int64_t>>(*axes) : std::nullopt,
                               op == "Unsqueeze", f.error);
    if (failed(shape))
      return failure();
    out.shape.assign(shape->begin(), shape->end());
  } else if (op == "Reshape") {
    auto allowZero = f.attrs().getInt("allowzero", 0, f.error);
    if (failed(allowZero))
      return failure();
    auto shape = resolveReshape(out.shape, f[1].ints, *allowZero, f.error);
    if (failed(shape))
      return failure();
    out.shape.assign(shape->begin(), shape->end());
  } else if (op == "Flatten") {
    auto axis = f.attrs().getInt("axis", 1, f.error);
    if (failed(axis))
      return failure();
    int64_t rank = out.shape.size(), a = *axis < 0 ? *axis + rank : *axis, outer = 1;
    for (int64_t d = 0; d < a && d < rank; ++d)
      outer *= out.shape[d];
    out.shape = {outer, outer ? out.size() / outer : 0};
  } else { // Expand: bidirectional broadcast to the shape
    auto shape = broadcastShape({f[0], Folded{f[0].type, f[1].ints, {}, {}}}, f.error);
    if (failed(shape))
      return failure();
    return gatherElements({&f[0]}, *shape, [&](ArrayRef<int64_t> index) {
      return std::make_pair(0, broadcastSource(flatIndex(index, *shape), *shape, f[0].shape));
    });
  }
  return out;
}

const llvm::StringMap<Folder> &folders() {
  static const llvm::StringMap<Folder> table = [] {
    llvm::StringMap<Folder> t;
    auto add = [&](std::initializer_list<StringRef> types, Folder fold) {
      for (StringRef type : types)
        t[type] = fold;
    };
    add({"Shape"}, foldShape);
    add({"Size"}, foldSize);
    add({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mod"}, foldArithmetic);
    add({"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Not"}, foldComparison);
    add({"Floor", "Ceil", "Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log"}, foldUnary);
    add({"Cast"}, foldCast);
    add({"Where"}, foldWhere);
    add({"Range"}, foldRange);
    add({"ConstantOfShape"}, foldConstantOfShape);
    add({"Gather"}, foldGather);
    add({"Slice"}, foldSlice);
    add({"Concat"}, foldConcat);
    add({"Transpose"}, foldTranspose);
    add({"Squeeze", "Unsqueeze", "Reshape", "Flatten", "Expand"}, foldReshaping);
    return t;
  }();
  return table;
}

} // namespace

bool Importer::foldable(int i) const {
  if (!folders().count(opType(i)) || node(i).input_size() == 0)
    return false;
  if (opType(i) == "Shape" || opType(i) == "Size") // any tensor: every shape is static
    return hasInput(i, 0) && (values.count(node(i).input(0)) || constants.count(node(i).input(0)));
  if (opType(i) == "Reshape" && opset < 5)
    return false; // Reshape-1 takes its shape as an attribute: a computed-tensor import
  return llvm::all_of(node(i).input(), [&](const std::string &in) { return in.empty() || constants.count(in); });
}

void Importer::defineConstant(const std::string &name, onnx::TensorProto tensor) {
  constants[name] = &ownedConstants.emplace_back(std::move(tensor));
}

LogicalResult Importer::foldNode(int i) {
  std::string error;
  SmallVector<std::optional<Folded>> inputs;
  for (int k = 0; k < node(i).input_size(); ++k) {
    const std::string &name = node(i).input(k);
    if (name.empty()) {
      inputs.push_back(std::nullopt);
    } else if (values.count(name)) { // Shape and Size read only the shape
      SmallVector<int64_t> shape = onnxShape(i, k);
      inputs.push_back(Folded{TensorProto::FLOAT, std::vector<int64_t>(shape.begin(), shape.end()), {}, {}});
    } else {
      auto folded = readFolded(*constants.find(name)->second, error);
      if (failed(folded))
        return fail(i, "input '" + name + "': " + error);
      inputs.push_back(std::move(*folded));
    }
  }
  FoldInputs in{node(i), inputs, opset, error};
  FailureOr<Folded> result = folders().find(opType(i))->second(in);
  if (failed(result) || (result->size() != int64_t(result->ints.size() + result->reals.size()))) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "cannot be evaluated at import: " << (error.empty() ? "inputs of the wrong type or shape" : error);
    diag.attachNote() << "Kiln evaluates shape computations on constants at import (see docs/onnx.md)";
    return failure();
  }
  if (result->size() > kMaxElements)
    return fail(i, "folds to more than 2^31 elements");
  defineConstant(node(i).output(0), writeFolded(*result, node(i).output(0)));
  return success();
}

/// A fold-only op reached with an input computed from the data: its value is not known at import.
FailureOr<Value> Importer::importFoldOnly(int i) {
  std::string computed;
  for (const std::string &in : node(i).input())
    if (values.count(in))
      computed = in;
  InFlightDiagnostic diag = nodeError(i);
  diag << "its input '" << computed << "' is computed from the model's data, so its result is not known at "
       << "import";
  diag.attachNote() << "Kiln evaluates " << node(i).op_type() << " only on shapes and constants (static shapes, "
                    << "no data-dependent values or selections)";
  return failure();
}

/// A Cast of a computed tensor: to float it passes the value through; any other type would carry
/// non-float data into the layers that follow.
FailureOr<Value> Importer::importCast(int i) {
  auto to = intAttr(i, "to", onnx::TensorProto::FLOAT);
  if (failed(to))
    return failure();
  if (*to == onnx::TensorProto::FLOAT || *to == onnx::TensorProto::DOUBLE)
    return alias(i);
  InFlightDiagnostic diag = nodeError(i);
  diag << "casts a computed tensor to " << dataTypeName(*to) << "; Kiln computes float32 tensors";
  diag.attachNote() << "only shape computations (folded at import) may use other types";
  return failure();
}

/// A Constant node: its tensor becomes a constant named by the node's output.
FailureOr<Value> Importer::importConstant(int i) {
  const onnx::NodeProto &n = node(i);
  if (n.attribute_size() != 1)
    return fail(i, "expected exactly one value attribute");
  const onnx::AttributeProto &a = n.attribute(0);
  if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
    std::string error;
    if (failed(tensorDims(a.t(), error)))
      return fail(i, error);
    constants[n.output(0)] = &a.t();
    return Value();
  }
  onnx::TensorProto t;
  t.set_name(n.output(0));
  if (a.name() == "value_float" || a.name() == "value_floats") {
    t.set_data_type(onnx::TensorProto::FLOAT);
    if (a.name() == "value_float")
      t.add_float_data(a.f());
    else
      t.mutable_float_data()->CopyFrom(a.floats());
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    t.set_data_type(onnx::TensorProto::INT64);
    if (a.name() == "value_int")
      t.add_int64_data(a.i());
    else
      t.mutable_int64_data()->CopyFrom(a.ints());
  } else {
    return fail(i, "a Constant given by '" + a.name() + "' is not supported (use 'value')");
  }
  if (a.name() == "value_floats" || a.name() == "value_ints")
    t.add_dims(a.name() == "value_floats" ? a.floats_size() : a.ints_size());
  defineConstant(n.output(0), std::move(t));
  return Value();
}

} // namespace kiln::onnxfe
