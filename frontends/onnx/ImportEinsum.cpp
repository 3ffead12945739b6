// ONNX importer: Einsum in its matmul forms. Two operands: each index is a batch index (in both
// inputs and the output), contracted (both inputs, not the output) or free (one input and the
// output); the operands are transposed and reshaped to [batch, M, K] x [batch, K, N], multiplied
// by nn.matmul, and reshaped and transposed to the output. One operand: a permutation.
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
                       "; Kiln reads Einsum's matmul forms (batch, contracted and free indices; or a permutation)");
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
  SmallVector<Value, 2> inputs;
  for (auto [k, term] : llvm::enumerate(terms)) {
    FailureOr<Value> v = operand(i, k, "operand " + std::to_string(k));
    if (failed(v))
      return failure();
    if (shapeOf(*v).size() != term.size())
      return unsupported("operand " + std::to_string(k) + " has rank " + std::to_string(shapeOf(*v).size()));
    for (char c : term)
      if (llvm::count(term, c) != 1)
        return unsupported("a repeated index within one operand (a diagonal)");
    inputs.push_back(*v);
  }
  if (terms.size() == 1) {
    if (output.size() != terms[0].size() || llvm::any_of(output, [&](char c) { return !terms[0].contains(c); }))
      return unsupported("a sum over an index of one operand");
    return transposeBy(i, inputs[0], positions(terms[0], output));
  }
  StringRef a = terms[0], b = terms[1];
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
  if (a.size() != batch.size() + aFree.size() + contracted.size() ||
      b.size() != batch.size() + bFree.size() + contracted.size())
    return unsupported("a sum over an index of one operand");
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
