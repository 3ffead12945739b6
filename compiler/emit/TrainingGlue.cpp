// The training part of the generated header and glue (see TrainingGlue.h).
#include "compiler/emit/TrainingGlue.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace kiln {
namespace {

using namespace glue;

// kCheckpointHeaderText (runtime/include/kiln/checkpoint.h).
#include "kiln/emit/EmbeddedCheckpoint.inc"

/// `value` as text that reads back exactly: "0.00999999978", "1.0".
std::string floatText(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value));
  std::string s = text;
  return s.find_first_of(".en") == std::string::npos ? s + ".0" : s;
}

/// `value` for people: "0.1".
std::string shortFloatText(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(value));
  return text;
}

std::string initialParamsSymbol(const ModelInterface &model) { return "kiln_" + model.name + "_initial_params"; }

/// Whether the labels are class indices (softmax cross-entropy) rather than targets shaped like
/// the output (mse): the contract of TrainingInterface::labels.
bool labelsAreClassIndices(const ModelInterface &model) {
  return model.outputs.empty() || model.training->labels.shape != model.outputs[0].shape;
}

/// The state slots under their checkpoint names.
std::vector<TensorSpec> checkpointState(const TrainingInterface &t) {
  std::vector<TensorSpec> state = t.state;
  for (TensorSpec &s : state)
    s.name = checkpointStateName(s.name);
  return state;
}

/// `static const size_t <var>[]`: where each tensor of `list` starts in one copy of the values,
/// counting from `start`. Returns the end.
int64_t writeOffsets(std::ostream &g, const std::vector<TensorSpec> &list, const std::string &var, int64_t start) {
  g << "static const size_t " << var << "[] = {";
  for (size_t i = 0; i < list.size(); ++i) {
    g << (i ? ", " : "") << start;
    start += elementCount(list[i].shape);
  }
  g << (list.empty() ? "0};\n" : "};\n");
  return start;
}

/// The arguments of the training step: inputs, labels, hyper, values..., loss, new values...
std::vector<BackendArgument> trainArguments(const ModelInterface &model) {
  const TrainingInterface &t = *model.training;
  std::vector<BackendArgument> args;
  for (size_t i = 0; i < model.inputs.size(); ++i)
    args.push_back({"inputs[" + std::to_string(i) + "]", "&kiln_glue_inputs[" + std::to_string(i) + "]"});
  args.push_back({"labels", "&kiln_glue_labels"});
  args.push_back({"hyper", "&kiln_glue_hyper"});
  auto values = [&](const std::string &base, bool written) {
    for (BackendArgument a : parameterArguments(model, base)) {
      a.written = written;
      args.push_back(a);
    }
    for (size_t i = 0; i < t.state.size(); ++i)
      args.push_back({base + " + kiln_glue_state_offsets[" + std::to_string(i) + "]",
                      "&kiln_glue_state[" + std::to_string(i) + "]", written});
  };
  values("values", false);
  args.push_back({"step_loss", "&kiln_glue_loss", true});
  values("new_values", true);
  return args;
}

/// The backend calls of one training step: the step function, or its parts.
std::vector<BackendCall> stepCalls(const ModelInterface &model) {
  const TrainingInterface &t = *model.training;
  return backendCalls(t.trainFunction, trainArguments(model), t.stepParts, "kiln_glue_step_temporaries");
}

} // namespace

std::vector<std::string> trainingApiFunctions(const ModelInterface &model) {
  std::vector<std::string> names;
  if (!model.training)
    return names;
  for (const char *suffix : {"_train_step", "_train_step_multi", "_set_learning_rate", "_learning_rate",
                             "_step_count", "_get_param", "_set_param", "_save", "_load", "_training_info"})
    if (std::string(suffix) != "_train_step" || model.inputs.size() == 1)
      names.push_back(model.name + suffix);
  return names;
}

std::string checkpointStateName(const std::string &stateName) { return "optimizer." + stateName; }

std::string generateTrainingHeader(const ModelInterface &model) {
  if (!model.training)
    return "";
  const TrainingInterface &t = *model.training;
  const std::string &n = model.name;
  const std::string N = upper(n);
  const bool single = model.inputs.size() == 1;
  const std::string step = single ? n + "_train_step(ctx, x, labels, &loss)" : n + "_train_step_multi(ctx, inputs, labels, &loss)";
  std::ostringstream h;
  h << "/* ==== Training (this library was compiled with --train) ====\n"
    << " *\n"
    << " * The context holds the model's " << t.params.size() << " parameters (starting from the values compiled\n"
    << " * into the library) and the " << commentText(t.optimizer) << " optimizer's " << t.state.size()
    << " state tensors (starting at zero).\n"
    << " * Each " << n << "_train_step takes one batch: forward pass, loss, backward pass and the\n"
    << " * optimizer's update; " << n << "_run and " << n << "_infer use the current parameters.\n"
    << " * A failed step changes nothing (the step writes a second copy that replaces the first only\n"
    << " * on success).\n"
    << " *\n"
    << " * Labels: " << describe(t.labels) << ", "
    << (labelsAreClassIndices(model) ? "the class index (0, 1, ...) of each sample, as a float"
                                     : "the target of each output value (mean squared error)")
    << ".\n"
    << " * Checkpoints are safetensors files (PyTorch: safetensors.torch.load_file): one tensor per\n"
    << " * parameter under its name, the optimizer state as \"optimizer.<param>.<slot>\", and the\n"
    << " * metadata kiln.step, kiln.lr and kiln.optimizer. They are written atomically.\n"
    << " *\n"
    << " * Example:\n"
    << " *\n"
    << " *     " << n << "_ctx *ctx = NULL;\n";
  if (single)
    h << " *     static float x[" << N << "_INPUT_0_SIZE], labels[" << N << "_LABELS_SIZE];\n";
  else
    h << " *     static float labels[" << N << "_LABELS_SIZE];\n"
      << " *     const float *inputs[" << N << "_NUM_INPUTS] = {...};  // one batch of each input\n";
  h << " *     float loss = 0.0f;\n"
    << " *     int step;\n"
    << " *     kiln_status st = " << n << "_create(&ctx);\n"
    << " *     // optional, to continue an earlier run: st = " << n << "_load(ctx, \"" << n << ".safetensors\");\n"
    << " *     for (step = 0; step < 1000 && st == KILN_OK; ++step) {\n"
    << " *       // ... fill the inputs and labels with the next batch ...\n"
    << " *       st = " << step << ";\n"
    << " *       if (st == KILN_OK && step % 100 == 0)\n"
    << " *         printf(\"step %lld: loss %g\\n\", (long long)" << n << "_step_count(ctx), loss);\n"
    << " *     }\n"
    << " *     if (st == KILN_OK)\n"
    << " *       st = " << n << "_save(ctx, \"" << n << ".safetensors\");\n"
    << " *     if (st != KILN_OK)\n"
    << " *       fprintf(stderr, \"" << n << ": %s: %s\\n\", kiln_status_string(st), " << n << "_last_error(ctx));\n"
    << " *     " << n << "_destroy(ctx);\n"
    << " */\n"
    << "#define " << N << "_NUM_PARAMS " << t.params.size() << "\n"
    << "#define " << N << "_LABELS_RANK " << t.labels.shape.size() << "\n"
    << "#define " << N << "_LABELS_SHAPE {" << (t.labels.shape.empty() ? "1" : joinShape(t.labels.shape, ", ")) << "}\n"
    << "#define " << N << "_LABELS_SIZE " << elementCount(t.labels.shape) << "\n\n";
  if (single)
    h << "/* One training step on one batch: input holds " << N << "_INPUT_SIZE floats, labels\n"
      << " * " << N << "_LABELS_SIZE floats; *loss receives the batch's mean loss before the update (loss may\n"
      << " * be NULL). Uses the context's learning rate and step count (then adds 1 to it). A NULL\n"
      << " * ctx, input or labels gives KILN_ERROR_INVALID_ARGUMENT, a failure inside the compiled code\n"
      << " * KILN_ERROR_BACKEND; after any failure the parameters and state are as before the call. */\n"
      << "kiln_status " << n << "_train_step(" << n << "_ctx *ctx, const float *input, const float *labels, float *loss);\n\n";
  h << "/* " << (single ? n + "_train_step with the inputs as an array" : "One training step on one batch")
    << ": inputs[i] points to " << N << "_INPUT_<i>_SIZE floats,\n"
    << " * labels to " << N << "_LABELS_SIZE floats; *loss (loss may be NULL) receives the batch's mean loss\n"
    << " * before the update. Errors as for " << n << "_run; after any failure the parameters and state\n"
    << " * are as before the call. */\n"
    << "kiln_status " << n << "_train_step_multi(" << n
    << "_ctx *ctx, const float *const *inputs, const float *labels, float *loss);\n\n"
    << "/* The learning rate of the following steps: finite and >= 0, else KILN_ERROR_INVALID_ARGUMENT\n"
    << " * (the rate stays as it was). A new context starts with " << shortFloatText(t.learningRate) << ". */\n"
    << "kiln_status " << n << "_set_learning_rate(" << n << "_ctx *ctx, float learning_rate);\n\n"
    << "/* The current learning rate; -1 for a NULL ctx. */\n"
    << "float " << n << "_learning_rate(const " << n << "_ctx *ctx);\n\n"
    << "/* How many steps have been taken (restored by " << n << "_load); -1 for a NULL ctx. */\n"
    << "int64_t " << n << "_step_count(const " << n << "_ctx *ctx);\n\n"
    << "/* Copies the current value of the parameter called `name` (see " << n << "_training_info) into\n"
    << " * `data`, which holds `count` floats: exactly the parameter's element count. An unknown name or a\n"
    << " * NULL pointer gives KILN_ERROR_INVALID_ARGUMENT, a wrong count KILN_ERROR_SHAPE_MISMATCH. */\n"
    << "kiln_status " << n << "_get_param(" << n << "_ctx *ctx, const char *name, float *data, int64_t count);\n\n"
    << "/* Replaces the value of parameter `name` with `count` floats from `data`; errors as for\n"
    << " * " << n << "_get_param (and nothing changes). The optimizer state is kept. */\n"
    << "kiln_status " << n << "_set_param(" << n << "_ctx *ctx, const char *name, const float *data, int64_t count);\n\n"
    << "/* Writes the parameters, the optimizer state, the step count and the learning rate to the\n"
    << " * safetensors file `path`, via `<path>.tmp` renamed over it (a failure, KILN_ERROR_IO, leaves an\n"
    << " * earlier file as it was). */\n"
    << "kiln_status " << n << "_save(" << n << "_ctx *ctx, const char *path);\n\n"
    << "/* Reads a checkpoint written by " << n << "_save (or any safetensors file with exactly these\n"
    << " * tensors): restores the parameters, state, step count and learning rate. A tensor that is\n"
    << " * missing, unexpected or of another shape, or a checkpoint of another optimizer, gives\n"
    << " * KILN_ERROR_SHAPE_MISMATCH with a message naming it; an unreadable file KILN_ERROR_IO. On any\n"
    << " * failure the context is unchanged. */\n"
    << "kiln_status " << n << "_load(" << n << "_ctx *ctx, const char *path);\n\n"
    << "/* The parameters (names and shapes, for " << n << "_get_param), the optimizer state, the labels,\n"
    << " * the optimizer and the initial learning rate; static data, never NULL. */\n"
    << "const kiln_training_info *" << n << "_training_info(void);\n\n";
  return h.str();
}

std::string trainingGlueIncludes() {
  return std::string(kCheckpointHeaderText) + "\n#include <errno.h>\n#include <float.h>\n#include <stdio.h>\n";
}

std::string trainingContextMembers(const ModelInterface &model, size_t runArguments) {
  std::ostringstream g;
  g << "  float *values[2];   /* two copies of every parameter, then every state slot (one allocation) */\n"
    << "  int current;        /* values[current] holds the current ones; a step writes the other one */\n"
    << "  int64_t steps;      /* steps taken */\n"
    << "  float learning_rate;\n";
  if (model.abi == BackendAbi::HalideBuffers) {
    size_t count = runArguments;
    for (const BackendCall &call : stepCalls(model))
      count = std::max(count, call.arguments.size());
    g << "  halide_buffer_t buffers[" << count << "];   /* descriptors of the backend calls' arguments */\n"
      << "  halide_dimension_t dims[" << count << "][KILN_MAX_RANK];\n";
  }
  return g.str();
}

std::vector<BackendArgument> parameterArguments(const ModelInterface &model, const std::string &values) {
  std::vector<BackendArgument> args;
  if (!model.training)
    return args;
  for (size_t i = 0; i < model.training->params.size(); ++i)
    args.push_back({values + " + kiln_glue_param_offsets[" + std::to_string(i) + "]",
                    "&kiln_glue_params[" + std::to_string(i) + "]"});
  return args;
}

std::string generateTrainingSupport(const ModelInterface &model) {
  if (!model.training)
    return "";
  const TrainingInterface &t = *model.training;
  const std::string &n = model.name;
  std::ostringstream g;
  g << "/* ---- Training: parameters, optimizer state, the training backend function ---- */\n\n";
  for (const BackendCall &call : stepCalls(model))
    writeBackendDeclaration(g, model.abi, call.function, call.arguments);
  g << "\n/* The initial parameters, embedded by " << n << "_initial_params.s (.incbin, in parameter order). */\n"
    << "extern const float " << initialParamsSymbol(model) << "[] __attribute__((visibility(\"hidden\")));\n\n"
    << "#define KILN_GLUE_NUM_PARAMS " << t.params.size() << "\n"
    << "#define KILN_GLUE_NUM_STATE " << t.state.size() << "\n";
  writeTensorInfoArray(g, t.params, "kiln_glue_params");
  writeTensorInfoArray(g, checkpointState(t), "kiln_glue_state");
  g << "/* Where each tensor starts in one copy of the values (parameters first, then state). */\n";
  int64_t paramFloats = writeOffsets(g, t.params, "kiln_glue_param_offsets", 0);
  int64_t valueFloats = writeOffsets(g, t.state, "kiln_glue_state_offsets", paramFloats);
  writeTemporaryTables(g, t.stepParts, "kiln_glue_step_temporaries");
  g << "#define KILN_GLUE_PARAM_FLOATS ((size_t)" << paramFloats << ")\n"
    << "#define KILN_GLUE_VALUE_FLOATS ((size_t)" << valueFloats << ")\n"
    << "static const kiln_tensor_info kiln_glue_labels = {" << cString(t.labels.name) << ", " << t.labels.shape.size()
    << ", {" << joinShape(t.labels.shape, ", ") << "}};\n"
    << "static const kiln_tensor_info kiln_glue_hyper = {\"hyper\", 1, {2}};\n"
    << "static const kiln_tensor_info kiln_glue_loss = {\"loss\", 1, {1}};\n"
    << "static const kiln_training_info kiln_glue_training_info = {\n"
    << "    KILN_GLUE_NUM_PARAMS, kiln_glue_params, KILN_GLUE_NUM_STATE, kiln_glue_state,\n"
    << "    {" << cString(t.labels.name) << ", " << t.labels.shape.size() << ", {" << joinShape(t.labels.shape, ", ")
    << "}}, " << cString(t.optimizer) << ", " << floatText(t.learningRate) << "f};\n\n"
    << "/* Allocates both copies of the values; the current one starts as the embedded parameters\n"
    << " * and zero state. */\n"
    << "static kiln_status kiln_glue_training_init(" << n << "_ctx *ctx) {\n"
    << "  ctx->values[0] = (float *)malloc(2 * KILN_GLUE_VALUE_FLOATS * sizeof(float));\n"
    << "  if (ctx->values[0] == NULL)\n"
    << "    return KILN_ERROR_OUT_OF_MEMORY;\n"
    << "  ctx->values[1] = ctx->values[0] + KILN_GLUE_VALUE_FLOATS;\n"
    << "  memcpy(ctx->values[0], " << initialParamsSymbol(model) << ", KILN_GLUE_PARAM_FLOATS * sizeof(float));\n"
    << "  memset(ctx->values[0] + KILN_GLUE_PARAM_FLOATS, 0,\n"
    << "         (KILN_GLUE_VALUE_FLOATS - KILN_GLUE_PARAM_FLOATS) * sizeof(float));\n"
    << "  ctx->learning_rate = kiln_glue_training_info.initial_learning_rate;\n"
    << "  return KILN_OK;\n"
    << "}\n\n";
  return g.str();
}

std::string generateTrainingApi(const ModelInterface &model) {
  if (!model.training)
    return "";
  const TrainingInterface &t = *model.training;
  const std::string &n = model.name;
  const bool halide = model.abi == BackendAbi::HalideBuffers;
  const size_t numTensors = t.params.size() + t.state.size();
  std::ostringstream g;
  g << "/* ---- Training API ---- */\n\n"
    << "kiln_status " << n << "_train_step_multi(" << n << "_ctx *ctx, const float *const *inputs, const float *labels,\n"
    << "                                  float *loss) {\n"
    << "  float hyper[2], step_loss[1];\n"
    << "  const float *values;\n"
    << "  float *new_values;\n"
    << "  int i, result;\n"
    << "  if (ctx == NULL)\n"
    << "    return KILN_ERROR_INVALID_ARGUMENT;\n"
    << "  kiln_message_clear(&ctx->error);\n";
  writeInputChecks(g, n + "_train_step", model.inputs.size());
  g << "  (void)i;\n"
    << "  if (labels == NULL)\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT,\n"
    << "        \"" << n << "_train_step: labels is NULL; pass " << elementCount(t.labels.shape) << " floats\");\n"
    << "  hyper[0] = ctx->learning_rate;\n"
    << "  hyper[1] = (float)(ctx->steps + 1);\n"
    << "  values = ctx->values[ctx->current];\n"
    << "  new_values = ctx->values[1 - ctx->current];\n";
  for (const BackendCall &call : stepCalls(model))
    writeBackendCall(g, model.abi, call.function, n + "_train_step", call.arguments, halide ? "ctx->buffers" : "",
                     halide ? "ctx->dims" : "");
  g << "  ctx->current = 1 - ctx->current;\n"
    << "  ++ctx->steps;\n"
    << "  if (loss != NULL)\n"
    << "    *loss = step_loss[0];\n"
    << "  return KILN_OK;\n"
    << "}\n\n";
  if (model.inputs.size() == 1)
    g << "kiln_status " << n << "_train_step(" << n << "_ctx *ctx, const float *input, const float *labels, float *loss) {\n"
      << "  const float *inputs[1];\n"
      << "  if (ctx == NULL)\n"
      << "    return KILN_ERROR_INVALID_ARGUMENT;\n"
      << "  if (input == NULL)\n"
      << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT,\n"
      << "        \"" << n << "_train_step: input is NULL; pass %lld floats\",\n"
      << "        (long long)kiln_tensor_info_element_count(&kiln_glue_inputs[0]));\n"
      << "  inputs[0] = input;\n"
      << "  return " << n << "_train_step_multi(ctx, inputs, labels, loss);\n"
      << "}\n\n";
  g << "kiln_status " << n << "_set_learning_rate(" << n << "_ctx *ctx, float learning_rate) {\n"
    << "  if (ctx == NULL)\n"
    << "    return KILN_ERROR_INVALID_ARGUMENT;\n"
    << "  if (!(learning_rate >= 0.0f) || learning_rate > FLT_MAX)\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT,\n"
    << "        \"" << n << "_set_learning_rate: %g is not a learning rate; pass a finite number >= 0\",\n"
    << "        (double)learning_rate);\n"
    << "  kiln_message_clear(&ctx->error);\n"
    << "  ctx->learning_rate = learning_rate;\n"
    << "  return KILN_OK;\n"
    << "}\n\n"
    << "float " << n << "_learning_rate(const " << n << "_ctx *ctx) { return ctx == NULL ? -1.0f : ctx->learning_rate; }\n\n"
    << "int64_t " << n << "_step_count(const " << n << "_ctx *ctx) { return ctx == NULL ? -1 : ctx->steps; }\n\n"
    << "/* Finds parameter `name` in the current values and checks the caller's buffer and count. */\n"
    << "static kiln_status kiln_glue_find_param(" << n << "_ctx *ctx, const char *function, const char *name,\n"
    << "                                        const float *data, int64_t count, float **slot) {\n"
    << "  int64_t expected;\n"
    << "  int i;\n"
    << "  kiln_message_clear(&ctx->error);\n"
    << "  if (name == NULL || data == NULL)\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT, \"%s: %s is NULL\",\n"
    << "                                          function, name == NULL ? \"name\" : \"data\");\n"
    << "  for (i = 0; i < KILN_GLUE_NUM_PARAMS; ++i)\n"
    << "    if (strcmp(kiln_glue_params[i].name, name) == 0)\n"
    << "      break;\n"
    << "  if (i == KILN_GLUE_NUM_PARAMS)\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT,\n"
    << "        \"%s: the model has no parameter '%s'; " << n << "_training_info() lists its %d parameters \"\n"
    << "        \"(the first is '%s')\", function, name, KILN_GLUE_NUM_PARAMS, kiln_glue_params[0].name);\n"
    << "  expected = kiln_tensor_info_element_count(&kiln_glue_params[i]);\n"
    << "  if (count != expected)\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_SHAPE_MISMATCH,\n"
    << "        \"%s: parameter '%s' has %lld elements, count is %lld\", function, name, (long long)expected,\n"
    << "        (long long)count);\n"
    << "  *slot = ctx->values[ctx->current] + kiln_glue_param_offsets[i];\n"
    << "  return KILN_OK;\n"
    << "}\n\n";
  for (bool get : {true, false}) {
    const std::string fn = n + (get ? "_get_param" : "_set_param");
    g << "kiln_status " << fn << "(" << n << "_ctx *ctx, const char *name, " << (get ? "float" : "const float")
      << " *data, int64_t count) {\n"
      << "  float *slot = NULL;\n"
      << "  kiln_status status;\n"
      << "  if (ctx == NULL)\n"
      << "    return KILN_ERROR_INVALID_ARGUMENT;\n"
      << "  status = kiln_glue_find_param(ctx, \"" << fn << "\", name, data, count, &slot);\n"
      << "  if (status == KILN_OK)\n"
      << "    memcpy(" << (get ? "data, slot" : "slot, data") << ", (size_t)count * sizeof(float));\n"
      << "  return status;\n"
      << "}\n\n";
  }
  g << "/* Checkpoint entries for every parameter and state slot of the copy `values`. */\n"
    << "static void kiln_glue_checkpoint_tensors(kiln_checkpoint_tensor *tensors, float *values) {\n"
    << "  int i;\n"
    << "  for (i = 0; i < KILN_GLUE_NUM_PARAMS; ++i) {\n"
    << "    tensors[i].info = &kiln_glue_params[i];\n"
    << "    tensors[i].data = values + kiln_glue_param_offsets[i];\n"
    << "  }\n"
    << "  for (i = 0; i < KILN_GLUE_NUM_STATE; ++i) {\n"
    << "    tensors[KILN_GLUE_NUM_PARAMS + i].info = &kiln_glue_state[i];\n"
    << "    tensors[KILN_GLUE_NUM_PARAMS + i].data = values + kiln_glue_state_offsets[i];\n"
    << "  }\n"
    << "}\n\n"
    << "/* The metadata keys of a checkpoint, empty. */\n"
    << "static void kiln_glue_checkpoint_metadata(kiln_checkpoint_metadata metadata[3]) {\n"
    << "  memset(metadata, 0, 3 * sizeof *metadata);\n"
    << "  metadata[0].key = \"kiln.step\";\n"
    << "  metadata[1].key = \"kiln.lr\";\n"
    << "  metadata[2].key = \"kiln.optimizer\";\n"
    << "}\n\n"
    << "/* Puts \"<function>: \" before the context's message; returns `status`. */\n"
    << "static kiln_status kiln_glue_prefix_error(kiln_message *error, const char *function, int status) {\n"
    << "  char message[KILN_MESSAGE_CAPACITY];\n"
    << "  memcpy(message, error->text, sizeof message);\n"
    << "  return (kiln_status)kiln_message_fail(error, status, \"%s: %s\", function, message);\n"
    << "}\n\n"
    << "kiln_status " << n << "_save(" << n << "_ctx *ctx, const char *path) {\n"
    << "  kiln_checkpoint_tensor tensors[" << numTensors << "];\n"
    << "  kiln_checkpoint_metadata metadata[3];\n"
    << "  int status;\n"
    << "  if (ctx == NULL)\n"
    << "    return KILN_ERROR_INVALID_ARGUMENT;\n"
    << "  kiln_message_clear(&ctx->error);\n"
    << "  kiln_glue_checkpoint_tensors(tensors, ctx->values[ctx->current]);\n"
    << "  kiln_glue_checkpoint_metadata(metadata);\n"
    << "  snprintf(metadata[0].value, sizeof metadata[0].value, \"%lld\", (long long)ctx->steps);\n"
    << "  snprintf(metadata[1].value, sizeof metadata[1].value, \"%.9g\", (double)ctx->learning_rate);\n"
    << "  snprintf(metadata[2].value, sizeof metadata[2].value, \"%s\", " << cString(t.optimizer) << ");\n"
    << "  status = kiln_checkpoint_write(path, tensors, " << numTensors << ", metadata, 3, &ctx->error);\n"
    << "  return status == KILN_OK ? KILN_OK : kiln_glue_prefix_error(&ctx->error, \"" << n << "_save\", status);\n"
    << "}\n\n"
    << "kiln_status " << n << "_load(" << n << "_ctx *ctx, const char *path) {\n"
    << "  kiln_checkpoint_tensor tensors[" << numTensors << "];\n"
    << "  kiln_checkpoint_metadata metadata[3];\n"
    << "  long long steps = 0;\n"
    << "  float learning_rate;\n"
    << "  char *end = NULL;\n"
    << "  int status, spare;\n"
    << "  if (ctx == NULL)\n"
    << "    return KILN_ERROR_INVALID_ARGUMENT;\n"
    << "  kiln_message_clear(&ctx->error);\n"
    << "  /* Read into the spare copy, so that a failure leaves the current values as they are. */\n"
    << "  spare = 1 - ctx->current;\n"
    << "  kiln_glue_checkpoint_tensors(tensors, ctx->values[spare]);\n"
    << "  kiln_glue_checkpoint_metadata(metadata);\n"
    << "  metadata[2].expected = " << cString(t.optimizer) << ";\n"
    << "  status = kiln_checkpoint_read(path, tensors, " << numTensors << ", metadata, 3, &ctx->error);\n"
    << "  if (status != KILN_OK)\n"
    << "    return kiln_glue_prefix_error(&ctx->error, \"" << n << "_load\", status);\n"
    << "  if (metadata[0].found) {\n"
    << "    errno = 0;\n"
    << "    steps = strtoll(metadata[0].value, &end, 10);\n"
    << "    if (errno != 0 || end == metadata[0].value || *end != '\\0' || steps < 0)\n"
    << "      return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_IO,\n"
    << "          \"" << n << "_load: checkpoint '%s' has kiln.step \\\"%s\\\", which is not a step count\", path,\n"
    << "          metadata[0].value);\n"
    << "  }\n"
    << "  learning_rate = ctx->learning_rate;\n"
    << "  if (metadata[1].found) {\n"
    << "    learning_rate = strtof(metadata[1].value, &end);\n"
    << "    if (end == metadata[1].value || *end != '\\0' || !(learning_rate >= 0.0f) || learning_rate > FLT_MAX)\n"
    << "      return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_IO,\n"
    << "          \"" << n << "_load: checkpoint '%s' has kiln.lr \\\"%s\\\", which is not a learning rate\", path,\n"
    << "          metadata[1].value);\n"
    << "  }\n"
    << "  ctx->current = spare;\n"
    << "  ctx->steps = steps;\n"
    << "  ctx->learning_rate = learning_rate;\n"
    << "  return KILN_OK;\n"
    << "}\n\n"
    << "const kiln_training_info *" << n << "_training_info(void) { return &kiln_glue_training_info; }\n";
  return g.str();
}

std::string generateInitialParamsAssembly(const ModelInterface &model, const std::string &initialParamsPath) {
  const std::string symbol = initialParamsSymbol(model);
  std::ostringstream s;
  s << "/* " << model.name << "_initial_params.s - generated by Kiln: the initial parameters of `" << model.name
    << "` (float32, in parameter order), embedded for " << model.name << "_create. */\n"
    << "\t.section .rodata\n"
    << "\t.balign 64\n"
    << "\t.globl " << symbol << "\n"
    << "\t.hidden " << symbol << "\n"
    << "\t.type " << symbol << ", %object\n"
    << symbol << ":\n"
    << "\t.incbin " << cString(initialParamsPath) << "\n"
    << "\t.size " << symbol << ", . - " << symbol << "\n"
    << "\t.section .note.GNU-stack,\"\",%progbits\n";
  return s.str();
}

} // namespace kiln
