// Generates the training part of a library compiled with `--train` (ModelInterface::training):
// the header section (N_train_step, parameter access, checkpoints, N_training_info), the glue
// that keeps two copies of the parameters and optimizer state in the context and swaps them
// after each successful step, and the assembler file embedding the initial parameters.
// LibraryEmitter.cpp stitches these pieces into <N>.h and <N>_glue.c. trainingApiFunctions,
// parameterArguments and the generate* functions give nothing for a model without training;
// trainingGlueIncludes and trainingContextMembers are for training models only.
#ifndef KILN_EMIT_TRAININGGLUE_H
#define KILN_EMIT_TRAININGGLUE_H

#include "compiler/emit/GlueText.h"
#include "compiler/emit/LibraryEmitter.h"

#include <string>
#include <vector>

namespace kiln {

/// The functions a training library exports besides the inference API, in header order.
std::vector<std::string> trainingApiFunctions(const ModelInterface &model);

/// The checkpoint name of optimizer state slot `stateName` ("<param>.<slot>"):
/// "optimizer.<param>.<slot>".
std::string checkpointStateName(const std::string &stateName);

/// The training section of <N>.h: shape macros of the labels, the API and a worked example.
std::string generateTrainingHeader(const ModelInterface &model);

/// Extra #includes of the glue: the checkpoint runtime's declarations and libc headers.
std::string trainingGlueIncludes();

/// The members a training context adds; `runArguments` is how many arguments the inference
/// call has (the Halide descriptors in the context serve both calls).
std::string trainingContextMembers(const ModelInterface &model, size_t runArguments);

/// Backend arguments for every parameter in the copy the C expression `values` points to.
std::vector<glue::BackendArgument> parameterArguments(const ModelInterface &model, const std::string &values);

/// Tables and helpers the glue needs before N_create (which calls kiln_glue_training_init).
std::string generateTrainingSupport(const ModelInterface &model);

/// The training API functions of the glue.
std::string generateTrainingApi(const ModelInterface &model);

/// GNU assembler source putting the file `initialParamsPath` (.incbin) into .rodata, 64-byte
/// aligned, as the hidden symbol the glue copies the initial parameters from.
std::string generateInitialParamsAssembly(const ModelInterface &model, const std::string &initialParamsPath);

} // namespace kiln

#endif
