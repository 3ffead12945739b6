// ONNX importer: Einsum in its matmul forms. An index in one operand only (not the output) is
// summed first (nn.reduce). Then with two operands each index is a batch index (in both inputs and
// the output), contracted (both inputs, not the output) or free (one input and the output); the
// operands are transposed and reshaped to [batch, M, K] x [batch, K, N], multiplied by nn.matmul,
// and reshaped and transposed to the output. One operand: a permutation after the sums.
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

/// Positions in `term` of the `letters`, in order.
static SmallVector<int64_t> positions(StringRef term, StringRef letters) {
  SmallVector<int64_t> out;
  for (char c : letters)
    out.push_back(term.find(c));
  return out;
}

FailureOr<Value> Importer::importEinsum(int i) {
  std::string error;
  auto equationAttr = attr(i, NodeAttrs(node(i)).getString("equation", "", error), error);
  if (failed(equationAttr))
    return failure();
  std::string equation;
  for (char c : *equationAttr)
    if (c != ' ')
      equation += c;
  auto unsupported = [&](const std::string &why) {
    return fail(i, "equation '" + equation + "': " + why +
                       "; Kiln reads Einsum's matmul, sum and permutation forms");
  };
  if (StringRef(equation).contains('.'))
    return unsupported("an ellipsis");
  auto [inputTerms, out] = StringRef(equation).split("->");
  SmallVector<StringRef, 2> terms;
  inputTerms.split(terms, ',');
  if (int(terms.size()) != node(i).input_size() || terms.size() > 2)
    return unsupported("not one or two operands matching the inputs");
  std::string output = out.str();
  if (!StringRef(equation).contains("->")) // implicit form: the indices used once, sorted
    for (char c = 'A'; c <= 'z'; ++c)
      if (llvm::count(inputTerms, c) == 1)
        output += c;
  // Each operand first sums over its indices that are in no other term (a reduce), so that
  // every index left is a batch, contracted or free one.
  SmallVector<Value, 2> inputs;
  SmallVector<std::string, 2> kept;
  for (auto [k, term] : llvm::enumerate(terms)) {
    FailureOr<Value> v = operand(i, k, "operand " + std::to_string(k));
    if (failed(v))
      return failure();
    if (shapeOf(*v).size() != term.size())
      return unsupported("operand " + std::to_string(k) + " has rank " + std::to_string(shapeOf(*v).size()));
    std::string left;
    SmallVector<int64_t> summed, shape;
    for (auto [d, c] : llvm::enumerate(term)) {
      if (llvm::count(term, c) != 1)
        return unsupported("a repeated index within one operand (a diagonal)");
      bool elsewhere = StringRef(output).contains(c) || (terms.size() == 2 && terms[1 - k].contains(c));
      if (!elsewhere) {
        summed.push_back(d);
        continue;
      }
      left += c;
      shape.push_back(shapeOf(*v)[d]);
    }
    if (!summed.empty()) {
      v = reduceBy(i, *v, "sum", summed);
      v = failed(v) ? v : reshapeTo(i, *v, shape.empty() ? SmallVector<int64_t>{1} : shape);
      if (failed(v))
        return failure();
    }
    inputs.push_back(*v);
    kept.push_back(left);
  }
  if (terms.size() == 1)
    return transposeBy(i, inputs[0], positions(kept[0], output));
  StringRef a = kept[0], b = kept[1];
  std::string batch, aFree, bFree, contracted;
  for (char c : output) {
    if (a.contains(c) && b.contains(c))
      batch += c;
    else if (a.contains(c))
      aFree += c;
    else if (b.contains(c))
      bFree += c;
    else
      return unsupported(std::string("output index '") + c + "' is in no operand");
  }
  for (char c : a)
    if (b.contains(c) && !StringRef(output).contains(c))
      contracted += c;
  auto extent = [&](Value v, StringRef term, StringRef letters) {
    int64_t n = 1;
    for (int64_t p : positions(term, letters))
      n *= shapeOf(v)[p];
    return n;
  };
  for (char c : batch + contracted)
    if (shapeOf(inputs[0])[a.find(c)] != shapeOf(inputs[1])[b.find(c)])
      return shapeError(i, inputs, std::string("index '") + c + "' has different sizes in the two operands");
  int64_t batchSize = extent(inputs[0], a, batch), m = extent(inputs[0], a, aFree),
          k = extent(inputs[0], a, contracted), n = extent(inputs[1], b, bFree);
  FailureOr<Value> lhsT = transposeBy(i, inputs[0], positions(a, batch + aFree + contracted));
  FailureOr<Value> lhs = failed(lhsT) ? lhsT : reshapeTo(i, *lhsT, {batchSize, m, k});
  FailureOr<Value> rhsT = failed(lhs) ? lhs : transposeBy(i, inputs[1], positions(b, batch + contracted + bFree));
  FailureOr<Value> rhs = failed(rhsT) ? rhsT : reshapeTo(i, *rhsT, {batchSize, k, n});
  if (failed(rhs))
    return failure();
  Value product = nn::MatMulOp::create(builder, nodeLoc(i), tensorType({batchSize, m, n}), *lhs, *rhs).getResult();
  std::string order = batch + aFree + bFree;
  SmallVector<int64_t> shape;
  for (char c : order)
    shape.push_back(a.contains(c) ? shapeOf(inputs[0])[a.find(c)] : shapeOf(inputs[1])[b.find(c)]);
  FailureOr<Value> y = resultAs(i, product, shape);
  return failed(y) ? y : transposeBy(i, *y, positions(order, output));
}

} // namespace kiln::onnxfe
