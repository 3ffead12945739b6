// `kiln train` (see TrainCommand.h): loads X and Y and checks them against the library, then
// runs epochs of (seeded) shuffled mini-batches with a progress bar, and saves a checkpoint
// through the library (atomically) after each epoch.
#include "compiler/driver/TrainCommand.h"

#include "compiler/runner/LoadedModel.h"
#include "compiler/support/Npy.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <unistd.h>

namespace kiln {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int fail(const std::string &message) {
  std::fprintf(stderr, "kiln: error: %s\n", message.c_str());
  return 1;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// `shape` with a leading "N" for the sample count: "[N, 1, 28, 28]".
std::string samplesShapeText(const std::vector<int64_t> &sample) {
  std::string inner = shapeText(sample).substr(1);
  return "[N" + (sample.empty() ? std::string("]") : ", " + inner);
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// "1:05" or "1:02:03".
std::string clockText(double s) {
  long total = static_cast<long>(s + 0.5), h = total / 3600, m = total / 60 % 60, sec = total % 60;
  char text[32];
  if (h > 0)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", h, m, sec);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", m, sec);
  return text;
}

/// The training data, sample after sample: each sample's input values and label values.
struct Dataset {
  HostTensor inputs;
  std::vector<float> labels;
  int64_t samples = 0, inputFloats = 0, labelFloats = 0;
};

bool loadInputs(const std::string &path, const TensorSpec &input, Dataset &data, std::string &error) {
  if (!readNpy(path, data.inputs, error)) {
    error = "--x: " + error;
    return false;
  }
  const std::vector<int64_t> sample(input.shape.begin() + 1, input.shape.end());
  const std::vector<int64_t> &shape = data.inputs.shape;
  if (shape.empty() || std::vector<int64_t>(shape.begin() + 1, shape.end()) != sample) {
    error = "--x '" + path + "' has shape " + shapeText(shape) + ", but the model's input '" + input.name +
            "' takes samples of shape " + shapeText(sample) + ": X must be " + samplesShapeText(sample) +
            " (N samples)";
    return false;
  }
  data.samples = shape[0];
  data.inputFloats = HostTensor::numElements(sample);
  return true;
}

/// Class indices (int32/int64, one per sample) for class-index labels, else float32 targets
/// with the output's shape per sample.
bool loadLabels(const std::string &path, const LoadedModel &model, Dataset &data, std::string &error) {
  const TensorSpec &labels = model.training()->labels, &output = model.outputs()[0];
  const int64_t batch = model.inputs()[0].shape[0];
  if (labels.shape == output.shape) {
    HostTensor targets;
    if (!readNpy(path, targets, error)) {
      error = "--y: " + error + " (this library's loss compares the output '" + output.name +
              "' with float32 targets)";
      return false;
    }
    const std::vector<int64_t> sample(labels.shape.begin() + 1, labels.shape.end());
    std::vector<int64_t> expected = {data.samples};
    expected.insert(expected.end(), sample.begin(), sample.end());
    if (targets.shape != expected) {
      error = "--y '" + path + "' has shape " + shapeText(targets.shape) + ", but this library trains the output '" +
              output.name + "' towards float32 targets " + samplesShapeText(sample) + ", one per sample of --x: Y "
              "must be " + shapeText(expected);
      return false;
    }
    data.labels = std::move(targets.data);
    data.labelFloats = HostTensor::numElements(sample);
    return true;
  }
  if (labels.shape != std::vector<int64_t>{batch}) {
    error = "'" + model.name() + "': the labels have shape " + shapeText(labels.shape) +
            ", neither the output's shape (targets) nor [" + std::to_string(batch) +
            "] (class indices): kiln train cannot feed them";
    return false;
  }
  std::vector<int64_t> shape, classes;
  if (!readNpyInt64(path, shape, classes, error)) {
    error = "--y: " + error + " (this library's loss takes class indices, one per sample)";
    return false;
  }
  if (shape != std::vector<int64_t>{data.samples}) {
    error = "--y '" + path + "' has shape " + shapeText(shape) + ", but this library takes one class index per "
            "sample: Y must be [" + std::to_string(data.samples) + "], like the first dimension of --x";
    return false;
  }
  const int64_t numClasses = output.shape.size() >= 2 ? output.shape[1] : 0;
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] < 0 || (numClasses > 0 && classes[i] >= numClasses)) {
      error = "--y '" + path + "': sample " + std::to_string(i) + " has class " + std::to_string(classes[i]) +
              ", but the model's output '" + output.name + "' has " + std::to_string(numClasses) + " classes (0 to " +
              std::to_string(numClasses - 1) + ")";
      return false;
    }
  data.labels.assign(classes.begin(), classes.end());
  data.labelFloats = 1;
  return true;
}

/// The next number of a splitmix64 stream: the same shuffles on every platform.
uint64_t nextRandom(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// A one-line progress bar on stderr (only when it is a terminal), redrawn at most 10 times a
/// second: epoch, steps, running mean loss and the time left for the whole run.
class ProgressBar {
public:
  explicit ProgressBar(int64_t totalSteps) : enabled(::isatty(STDERR_FILENO)), totalSteps(totalSteps) {}

  void update(int epoch, int epochs, int64_t step, int64_t steps, double meanLoss) {
    ++stepsDone;
    Clock::time_point now = Clock::now();
    if (!enabled || (step < steps && now - lastDraw < std::chrono::milliseconds(100)))
      return;
    lastDraw = now;
    const int width = 24;
    int filled = static_cast<int>(width * step / steps);
    double left = seconds(now - start) / static_cast<double>(stepsDone) * static_cast<double>(totalSteps - stepsDone);
    std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s%s] %lld/%lld  loss %.4g  ETA %s", epoch, epochs,
                 std::string(filled, '=').c_str(), std::string(width - filled, ' ').c_str(),
                 static_cast<long long>(step), static_cast<long long>(steps), meanLoss, clockText(left).c_str());
    std::fflush(stderr);
  }

  void clear() {
    if (enabled)
      std::fprintf(stderr, "\r\033[K");
  }

private:
  bool enabled;
  int64_t totalSteps, stepsDone = 0;
  Clock::time_point start = Clock::now(), lastDraw;
};

} // namespace

int runTrain(const TrainOptions &options) {
  std::string error;
  std::unique_ptr<LoadedModel> model = LoadedModel::open(options.libraryPath, error);
  if (!model)
    return fail(error);
  if (!model->training())
    return fail("'" + options.libraryPath + "' was compiled without --train, so it has no training step: "
                "compile the model with kiln compile MODEL --train");
  if (model->inputs().size() != 1 || model->inputs()[0].shape.empty())
    return fail("'" + options.libraryPath + "' takes " + std::to_string(model->inputs().size()) +
                " inputs; kiln train feeds exactly one batched input (from --x)");
  const TensorSpec &input = model->inputs()[0];
  const int64_t batch = input.shape[0];
  if (options.batch && *options.batch != batch)
    return fail("--batch " + std::to_string(*options.batch) + ": '" + options.libraryPath +
                "' was compiled for batches of " + std::to_string(batch) + "; drop --batch or recompile with "
                "kiln compile --batch " + std::to_string(*options.batch));
  if (options.epochs < 1)
    return fail("--epochs " + std::to_string(options.epochs) + ": train for at least one epoch");
  std::error_code ec;
  fs::path saveDir = fs::path(options.savePath).parent_path();
  if (saveDir.empty())
    saveDir = ".";
  if (!fs::is_directory(saveDir, ec) || fs::is_directory(options.savePath, ec))
    return fail("--save '" + options.savePath + "': " +
                (fs::is_directory(options.savePath, ec) ? std::string("that is a directory; name a file in it")
                                                        : "the directory '" + saveDir.string() +
                                                              "' does not exist; create it first"));

  Dataset data;
  if (!loadInputs(options.inputsPath, input, data, error) || !loadLabels(options.labelsPath, *model, data, error))
    return fail(error);
  if (data.samples < batch)
    return fail("--x '" + options.inputsPath + "' holds " + std::to_string(data.samples) +
                " samples, fewer than one batch of " + std::to_string(batch) + " (the library's compiled batch): "
                "pass more samples, or recompile with kiln compile --batch " + std::to_string(data.samples));
  if (!options.loadPath.empty()) {
    if (!model->load(options.loadPath, error))
      return fail(error);
    std::printf("kiln: loaded '%s': step %lld, learning rate %g\n", options.loadPath.c_str(),
                static_cast<long long>(model->stepCount()), model->learningRate());
  }
  if (options.learningRate && !model->setLearningRate(*options.learningRate, error))
    return fail("--lr: " + error);
  if (options.threads > 0 && !model->setThreads(options.threads, error))
    return fail("--threads: " + error);

  const int64_t steps = data.samples / batch, skipped = data.samples % batch;
  std::printf("kiln: training '%s' (%s, learning rate %g): %lld samples, %lld steps of %lld per epoch\n",
              options.libraryPath.c_str(), model->training()->optimizer.c_str(), model->learningRate(),
              static_cast<long long>(data.samples), static_cast<long long>(steps), static_cast<long long>(batch));
  if (skipped > 0)
    std::printf("kiln: note: %lld sample%s not fill a last batch and %s skipped in each epoch (%s)\n",
                static_cast<long long>(skipped), skipped == 1 ? " does" : "s do", skipped == 1 ? "is" : "are",
                options.shuffle ? "different ones each epoch, after shuffling"
                                                                 : "the last ones of --x");
  std::fflush(stdout);

  std::vector<int64_t> order(static_cast<size_t>(data.samples));
  std::iota(order.begin(), order.end(), 0);
  uint64_t random = options.seed;
  std::vector<HostTensor> inputs(1, HostTensor(input.shape));
  HostTensor labels(model->training()->labels.shape);
  ProgressBar bar(steps * options.epochs);
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    if (options.shuffle)
      for (size_t i = order.size() - 1; i > 0; --i)
        std::swap(order[i], order[nextRandom(random) % (i + 1)]);
    Clock::time_point epochStart = Clock::now();
    double lossSum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      for (int64_t k = 0; k < batch; ++k) {
        const int64_t sample = order[static_cast<size_t>(step * batch + k)];
        std::memcpy(inputs[0].data.data() + k * data.inputFloats, data.inputs.data.data() + sample * data.inputFloats,
                    static_cast<size_t>(data.inputFloats) * sizeof(float));
        std::memcpy(labels.data.data() + k * data.labelFloats, data.labels.data() + sample * data.labelFloats,
                    static_cast<size_t>(data.labelFloats) * sizeof(float));
      }
      float loss = 0;
      if (!model->trainStep(inputs, labels, loss, error)) {
        bar.clear();
        return fail(error + " (epoch " + std::to_string(epoch) + ", step " + std::to_string(step + 1) + ")");
      }
      if (!std::isfinite(loss)) {
        bar.clear();
        return fail("the loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " in epoch " +
                    std::to_string(epoch) + ", step " + std::to_string(step + 1) +
                    ": training diverged; lower the learning rate (--lr). " +
                    (epoch > 1 ? "'" + options.savePath + "' holds the end of epoch " + std::to_string(epoch - 1)
                               : std::string("Nothing was saved")));
      }
      lossSum += loss;
      bar.update(epoch, options.epochs, step + 1, steps, lossSum / static_cast<double>(step + 1));
    }
    bar.clear();
    if (!model->save(options.savePath, error))
      return fail(error);
    std::printf("epoch %d/%d: mean loss %.6g (%lld steps, %.1f s), saved '%s' at step %lld\n", epoch, options.epochs,
                lossSum / static_cast<double>(steps), static_cast<long long>(steps),
                seconds(Clock::now() - epochStart), options.savePath.c_str(),
                static_cast<long long>(model->stepCount()));
    std::fflush(stdout);
  }
  return 0;
}

} // namespace kiln
