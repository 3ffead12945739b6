// In-process model runner (see LoadedModel.h): dlopen/dlsym of the N_* API, .npy bindings, timing.
#include "compiler/runner/LoadedModel.h"

#include "compiler/support/Npy.h"
#include "kiln/runtime.h"

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <filesystem>

namespace kiln {
namespace {

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string nameList(const std::vector<TensorSpec> &specs, const std::vector<bool> *only = nullptr) {
  std::string s;
  for (size_t i = 0; i < specs.size(); ++i)
    if (!only || (*only)[i])
      s += (s.empty() ? "'" : ", '") + specs[i].name + "'";
  return s.empty() ? "none" : s;
}

/// Matches `[NAME=]path` bindings to `specs`. paths[i] is the file for specs[i] ("" if unbound).
bool matchBindings(const std::vector<std::string> &bindings, const std::vector<TensorSpec> &specs,
                   const std::string &kind, std::vector<std::string> &paths, std::string &error) {
  const std::string flag = "--" + kind;
  paths.assign(specs.size(), "");
  std::vector<std::string> unnamed;
  for (const std::string &binding : bindings) {
    size_t eq = binding.find('=');
    if (eq != std::string::npos && eq > 0) {
      std::string name = binding.substr(0, eq), path = binding.substr(eq + 1);
      auto it = std::find_if(specs.begin(), specs.end(), [&](const TensorSpec &s) { return s.name == name; });
      if (it != specs.end()) {
        size_t index = static_cast<size_t>(it - specs.begin());
        if (path.empty()) {
          error = flag + " '" + binding + "': no file after '='; write " + flag + " " + name + "=file.npy";
          return false;
        }
        if (!paths[index].empty()) {
          error = kind + " '" + name + "' is bound twice ('" + paths[index] + "' and '" + path +
                  "'): keep one " + flag + " " + name + "=...";
          return false;
        }
        paths[index] = path;
        continue;
      }
      std::error_code ec;
      if (!std::filesystem::exists(binding, ec)) {
        error = flag + " '" + binding + "': the model has no " + kind + " named '" + name + "' (its " + kind +
                "s: " + nameList(specs) + "); use one of those names, or ./" + binding +
                " for a file whose name contains '='";
        return false;
      }
    }
    if (binding.empty()) {
      error = flag + " needs a file: " + flag + " [NAME=]file.npy";
      return false;
    }
    unnamed.push_back(binding);
  }
  std::vector<bool> unbound(specs.size());
  size_t numUnbound = 0;
  for (size_t i = 0; i < specs.size(); ++i)
    numUnbound += unbound[i] = paths[i].empty();
  if (unnamed.empty())
    return true;
  if (unnamed.size() != numUnbound) {
    error = std::to_string(unnamed.size()) + " unnamed " + flag + " file(s) for " + std::to_string(numUnbound) +
            " unbound " + kind + "(s) (" + nameList(specs, &unbound) + "): name them, as in " + flag +
            " " + (numUnbound ? specs[std::find(unbound.begin(), unbound.end(), true) - unbound.begin()].name
                              : std::string("NAME")) + "=file.npy";
    return false;
  }
  size_t next = 0;
  for (size_t i = 0; i < specs.size(); ++i)
    if (unbound[i])
      paths[i] = unnamed[next++];
  return true;
}

} // namespace

// ---- LoadedModel ------------------------------------------------------------------------------

struct LoadedModel::Api {
  const kiln_model_info *(*modelInfo)(void) = nullptr;
  kiln_status (*create)(void **) = nullptr;
  void (*destroy)(void *) = nullptr;
  kiln_status (*run)(void *, const float *const *, float *const *) = nullptr;
  kiln_status (*setThreads)(void *, int) = nullptr;
  const char *(*lastError)(const void *) = nullptr;
};

struct LoadedModel::TrainingApi {
  const kiln_training_info *(*trainingInfo)(void) = nullptr;
  kiln_status (*trainStep)(void *, const float *const *, const float *, float *) = nullptr;
  kiln_status (*setLearningRate)(void *, float) = nullptr;
  float (*learningRate)(const void *) = nullptr;
  int64_t (*stepCount)(const void *) = nullptr;
  kiln_status (*save)(void *, const char *) = nullptr;
  kiln_status (*load)(void *, const char *) = nullptr;
};

std::unique_ptr<LoadedModel> LoadedModel::open(const std::string &soPath, std::string &error) {
  std::string file = std::filesystem::path(soPath).filename().string();
  if (file.size() <= 6 || file.compare(0, 3, "lib") != 0 || file.compare(file.size() - 3, 3, ".so") != 0) {
    error = "'" + soPath + "' is not named lib<model>.so: Kiln finds the model's functions by that name; "
            "pass the lib<model>.so that kiln compile wrote";
    return nullptr;
  }
  std::unique_ptr<LoadedModel> model(new LoadedModel());
  model->modelName = file.substr(3, file.size() - 6);
  model->path = soPath;
  model->api = std::make_unique<Api>();
  // dlopen searches the library path for names without a slash: always pass a path.
  std::string openPath = soPath.find('/') == std::string::npos ? "./" + soPath : soPath;
  model->handle = ::dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!model->handle) {
    const char *why = ::dlerror();
    error = "cannot load model library '" + soPath + "': " + (why ? why : "unknown dlopen error");
    return nullptr;
  }
  const std::string &n = model->modelName;
  bool missing = false;
  auto find = [&](auto &slot, const char *suffix) {
    void *symbol = ::dlsym(model->handle, (n + suffix).c_str());
    if (!symbol && !missing) {
      missing = true;
      error = "'" + soPath + "' does not define " + n + suffix + ": it is not a Kiln model library, or it "
              "was renamed (the file name must stay lib<model>.so)";
    }
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(symbol);
  };
  Api &api = *model->api;
  find(api.modelInfo, "_model_info");
  find(api.create, "_create");
  find(api.destroy, "_destroy");
  find(api.run, "_run");
  find(api.setThreads, "_set_threads");
  find(api.lastError, "_last_error");
  if (::dlsym(model->handle, (n + "_training_info").c_str())) {
    model->trainingApi = std::make_unique<TrainingApi>();
    TrainingApi &training = *model->trainingApi;
    find(training.trainingInfo, "_training_info");
    find(training.trainStep, "_train_step_multi");
    find(training.setLearningRate, "_set_learning_rate");
    find(training.learningRate, "_learning_rate");
    find(training.stepCount, "_step_count");
    find(training.save, "_save");
    find(training.load, "_load");
  }
  if (missing)
    return nullptr;
  const kiln_model_info *info = api.modelInfo();
  if (!info || info->num_inputs < 0 || info->num_outputs < 1) {
    error = "'" + soPath + "': " + n + "_model_info() describes no outputs";
    return nullptr;
  }
  auto toSpecs = [](const kiln_tensor_info *list, int count, std::vector<TensorSpec> &specs) {
    for (int i = 0; i < count; ++i) {
      int rank = std::clamp(list[i].rank, 0, KILN_MAX_RANK);
      specs.push_back({list[i].name ? list[i].name : "", std::vector<int64_t>(list[i].shape, list[i].shape + rank)});
    }
  };
  toSpecs(info->inputs, info->num_inputs, model->inputSpecs);
  toSpecs(info->outputs, info->num_outputs, model->outputSpecs);
  if (model->trainingApi) {
    const kiln_training_info *t = model->trainingApi->trainingInfo();
    TrainingInterface &specs = model->trainingSpecs.emplace();
    toSpecs(t->params, t->num_params, specs.params);
    toSpecs(t->state, t->num_state, specs.state);
    std::vector<TensorSpec> labels;
    toSpecs(&t->labels, 1, labels);
    specs.labels = labels[0];
    specs.optimizer = t->optimizer ? t->optimizer : "";
    specs.learningRate = t->initial_learning_rate;
  }
  kiln_status status = api.create(&model->context);
  if (status != KILN_OK) {
    error = "'" + soPath + "': " + n + "_create failed: " + kiln_status_string(status);
    return nullptr;
  }
  return model;
}

LoadedModel::~LoadedModel() {
  if (context && api && api->destroy)
    api->destroy(context);
  if (handle)
    ::dlclose(handle);
}

bool LoadedModel::setThreads(int threads, std::string &error) {
  kiln_status status = api->setThreads(context, threads);
  if (status == KILN_OK)
    return true;
  error = modelName + "_set_threads(" + std::to_string(threads) + "): " + api->lastError(context);
  return false;
}

bool LoadedModel::checkInputs(const std::vector<HostTensor> &in, std::vector<const float *> &pointers,
                              std::string &error) const {
  if (in.size() != inputSpecs.size()) {
    error = "model '" + modelName + "' takes " + std::to_string(inputSpecs.size()) + " input(s) (" +
            nameList(inputSpecs) + "), " + std::to_string(in.size()) + " given";
    return false;
  }
  pointers.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].shape != inputSpecs[i].shape || in[i].size() != HostTensor::numElements(in[i].shape)) {
      error = "input '" + inputSpecs[i].name + "' of model '" + modelName + "' has shape " +
              shapeString(in[i].shape) + " but the model expects " + shapeString(inputSpecs[i].shape);
      return false;
    }
    pointers.push_back(in[i].data.data());
  }
  return true;
}

bool LoadedModel::succeeded(int status, const std::string &function, std::string &error) const {
  if (status == KILN_OK)
    return true;
  // The library's message already names the function and what went wrong.
  std::string message = api->lastError(context);
  error = (message.empty() ? modelName + function + " failed" : message) + " (" +
          kiln_status_string(static_cast<kiln_status>(status)) + ")";
  return false;
}

bool LoadedModel::run(const std::vector<HostTensor> &in, std::vector<HostTensor> &out, std::string &error) {
  std::vector<const float *> inputs;
  if (!checkInputs(in, inputs, error))
    return false;
  out.clear();
  std::vector<float *> outputs;
  for (const TensorSpec &spec : outputSpecs)
    out.emplace_back(spec.shape);
  for (HostTensor &t : out)
    outputs.push_back(t.data.data());
  return succeeded(api->run(context, inputs.data(), outputs.data()), "_run", error);
}

bool LoadedModel::requireTraining(const char *what, std::string &error) const {
  if (trainingApi)
    return true;
  error = "'" + path + "' cannot " + what + ": it was compiled without --train, so it has no training step";
  return false;
}

bool LoadedModel::trainStep(const std::vector<HostTensor> &in, const HostTensor &labels, float &loss,
                            std::string &error) {
  std::vector<const float *> inputs;
  if (!requireTraining("train", error) || !checkInputs(in, inputs, error))
    return false;
  if (labels.shape != trainingSpecs->labels.shape || labels.size() != HostTensor::numElements(labels.shape)) {
    error = "the labels of model '" + modelName + "' have shape " + shapeString(labels.shape) +
            " but the model expects " + shapeString(trainingSpecs->labels.shape);
    return false;
  }
  return succeeded(trainingApi->trainStep(context, inputs.data(), labels.data.data(), &loss), "_train_step", error);
}

bool LoadedModel::setLearningRate(float learningRate, std::string &error) {
  return requireTraining("set a learning rate", error) && succeeded(trainingApi->setLearningRate(context, learningRate), "_set_learning_rate", error);
}

float LoadedModel::learningRate() const { return trainingApi ? trainingApi->learningRate(context) : -1.0f; }

int64_t LoadedModel::stepCount() const { return trainingApi ? trainingApi->stepCount(context) : -1; }

bool LoadedModel::save(const std::string &checkpoint, std::string &error) {
  return requireTraining("save a checkpoint", error) && succeeded(trainingApi->save(context, checkpoint.c_str()), "_save", error);
}

bool LoadedModel::load(const std::string &checkpoint, std::string &error) {
  return requireTraining("load a checkpoint", error) && succeeded(trainingApi->load(context, checkpoint.c_str()), "_load", error);
}

// ---- .npy bindings ----------------------------------------------------------------------------

bool loadInputs(const std::vector<std::string> &bindings, const std::vector<TensorSpec> &specs,
                std::vector<HostTensor> &out, std::string &error) {
  std::vector<std::string> paths;
  if (!matchBindings(bindings, specs, "input", paths, error))
    return false;
  out.assign(specs.size(), HostTensor());
  for (size_t i = 0; i < specs.size(); ++i) {
    if (paths[i].empty()) {
      error = "input '" + specs[i].name + "' has no file: add --input " + specs[i].name + "=file.npy (an " +
              "array of shape " + shapeString(specs[i].shape) + ")";
      return false;
    }
    std::string npyError;
    if (!readNpy(paths[i], out[i], npyError)) {
      error = "input '" + specs[i].name + "': " + npyError;
      return false;
    }
    if (out[i].shape != specs[i].shape) {
      bool sameCount = HostTensor::numElements(out[i].shape) == HostTensor::numElements(specs[i].shape);
      error = "input '" + specs[i].name + "': '" + paths[i] + "' has shape " + shapeString(out[i].shape) +
              " but the model expects " + shapeString(specs[i].shape) + "; " +
              (sameCount ? "reshape the array to " + shapeString(specs[i].shape) + " before saving it"
                         : "pass an array of shape " + shapeString(specs[i].shape));
      return false;
    }
  }
  return true;
}

bool writeOutputs(const std::vector<std::string> &bindings, const std::vector<TensorSpec> &specs,
                  const std::vector<HostTensor> &tensors, std::string &error) {
  std::vector<std::string> paths;
  if (!matchBindings(bindings, specs, "output", paths, error))
    return false;
  if (tensors.size() != specs.size()) {
    error = "internal error: " + std::to_string(tensors.size()) + " output tensors for " +
            std::to_string(specs.size()) + " outputs";
    return false;
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (paths[i].empty())
      continue;
    std::string npyError;
    if (!writeNpy(paths[i], tensors[i], npyError)) {
      error = "output '" + specs[i].name + "': " + npyError;
      return false;
    }
  }
  return true;
}

// ---- timing -------------------------------------------------------------------------------------

Timing timeRuns(std::function<bool()> fn, int repeat) {
  Timing timing;
  std::vector<double> ms;
  for (int i = 0; i < std::max(repeat, 1); ++i) {
    auto start = std::chrono::steady_clock::now();
    bool ok = fn();
    auto end = std::chrono::steady_clock::now();
    if (!ok)
      break;
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  timing.runs = static_cast<int>(ms.size());
  if (ms.empty())
    return timing;
  std::sort(ms.begin(), ms.end());
  timing.minMs = ms.front();
  timing.maxMs = ms.back();
  size_t mid = ms.size() / 2;
  timing.medianMs = ms.size() % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
  return timing;
}

} // namespace kiln
