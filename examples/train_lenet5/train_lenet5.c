/* Trains LeNet-5 on Fashion-MNIST through a Kiln training library; a test too (--min-accuracy). */
#define _POSIX_C_SOURCE 200809L

#include "lenet5_fashion.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PROGRAM "train_lenet5"
#define IDX_IMAGES_MAGIC 0x00000803u /* unsigned bytes, 3 dimensions */
#define IDX_LABELS_MAGIC 0x00000801u /* unsigned bytes, 1 dimension */
#define PIXEL_MEAN 0.2860f           /* of Fashion-MNIST's training pixels scaled to [0, 1] */
#define PIXEL_STD 0.3530f
#define PATH_SIZE 4096

static const char usage_text[] =
    "usage: " PROGRAM " [options]\n"
    "Trains LeNet-5 on Fashion-MNIST with the Kiln-generated library lenet5_fashion, evaluates the\n"
    "test accuracy after each epoch and writes checkpoints, history.csv and history.png to --out.\n"
    "  --data DIR          the IDX .gz files (default /usr/share/datasets/fashion-mnist)\n"
    "  --epochs E          train until epoch E (default 10)\n"
    "  --train-limit N     use the first N training images (default: all)\n"
    "  --out DIR           where checkpoints and history go (default lenet5_fashion-run)\n"
    "  --resume            continue from DIR/last.safetensors at the epoch after it\n"
    "  --lr RATE           learning rate (default: the library's, or the checkpoint's)\n"
    "  --seed S            seed of the shuffling (default 1)\n"
    "  --threads T         threads of the library (default: KILN_NUM_THREADS, else one per CPU)\n"
    "  --min-accuracy A    exit with status 3 if the final test accuracy (0..1) is below A\n"
    "Exit status: 0 success, 1 error (a message says which), 2 bad usage, 3 below --min-accuracy.\n";

typedef struct options {
  const char *data_dir;
  const char *out_dir;
  int epochs;
  long train_limit; /* 0: every training image */
  bool resume;
  double learning_rate; /* < 0: keep the library's or the checkpoint's */
  uint64_t seed;
  int threads;
  double min_accuracy;
} options;

/* Images (count x rows x cols bytes) and their labels, as in the IDX files. */
typedef struct dataset {
  long count;
  long rows, cols;
  uint8_t *pixels;
  uint8_t *labels;
} dataset;

/* One line of history.csv. */
typedef struct epoch_record {
  int epoch;
  double train_loss;
  double test_accuracy;
  double seconds; /* training steps only, without the evaluation */
} epoch_record;

/* ---- Errors ---- */

static _Noreturn void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, PROGRAM ": ");
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

static void check(kiln_status status, const lenet5_fashion_ctx *ctx, const char *call) {
  if (status != KILN_OK)
    die("%s: %s: %s", call, kiln_status_string(status), lenet5_fashion_last_error(ctx));
}

static void *allocate(size_t bytes) {
  void *memory = malloc(bytes);
  if (memory == NULL)
    die("out of memory (%zu bytes)", bytes);
  return memory;
}

static void join_path(char *path, const char *dir, const char *file) {
  if (snprintf(path, PATH_SIZE, "%s/%s", dir, file) >= PATH_SIZE)
    die("path '%s/%s' is too long", dir, file);
}

/* ---- Options ---- */

static _Noreturn void usage_error(const char *format, const char *value) {
  fprintf(stderr, PROGRAM ": ");
  fprintf(stderr, format, value);
  fprintf(stderr, "\n%s", usage_text);
  exit(2);
}

static long parse_long(const char *option, const char *text, long min) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min) {
    fprintf(stderr, PROGRAM ": %s needs an integer >= %ld, got '%s'\n", option, min, text);
    exit(2);
  }
  return value;
}

static double parse_double(const char *option, const char *text, double min, double max) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(value >= min && value <= max)) {
    fprintf(stderr, PROGRAM ": %s needs a number in [%g, %g], got '%s'\n", option, min, max, text);
    exit(2);
  }
  return value;
}

static options parse_options(int argc, char **argv) {
  options o = {"/usr/share/datasets/fashion-mnist", "lenet5_fashion-run", 10, 0, false, -1.0, 1, 0, 0.0};
  for (int i = 1; i < argc; ++i) {
    const char *option = argv[i];
    if (strcmp(option, "--help") == 0 || strcmp(option, "-h") == 0) {
      fputs(usage_text, stdout);
      exit(0);
    }
    if (strcmp(option, "--resume") == 0) {
      o.resume = true;
      continue;
    }
    if (i + 1 == argc)
      usage_error("%s needs a value (or is not an option)", option);
    const char *value = argv[++i];
    if (strcmp(option, "--data") == 0)
      o.data_dir = value;
    else if (strcmp(option, "--out") == 0)
      o.out_dir = value;
    else if (strcmp(option, "--epochs") == 0)
      o.epochs = (int)parse_long(option, value, 1);
    else if (strcmp(option, "--train-limit") == 0)
      o.train_limit = parse_long(option, value, 1);
    else if (strcmp(option, "--lr") == 0)
      o.learning_rate = parse_double(option, value, 0.0, 1e6);
    else if (strcmp(option, "--seed") == 0)
      o.seed = (uint64_t)parse_long(option, value, 0);
    else if (strcmp(option, "--threads") == 0)
      o.threads = (int)parse_long(option, value, 0);
    else if (strcmp(option, "--min-accuracy") == 0)
      o.min_accuracy = parse_double(option, value, 0.0, 1.0);
    else
      usage_error("unknown option '%s'", option);
  }
  return o;
}

/* ---- IDX files (http://yann.lecun.com/exdb/mnist/), gzip-compressed ---- */

static void read_exactly(gzFile file, const char *path, void *buffer, size_t bytes, const char *what) {
  size_t done = 0;
  while (done < bytes) {
    unsigned chunk = bytes - done > (1u << 30) ? (1u << 30) : (unsigned)(bytes - done);
    int got = gzread(file, (char *)buffer + done, chunk);
    if (got < 0) {
      int code;
      die("%s: cannot read %s: %s", path, what, gzerror(file, &code));
    }
    if (got == 0)
      die("%s: the file ends after %zu of the %zu bytes of %s (truncated download?)", path, done, bytes, what);
    done += (size_t)got;
  }
}

static uint32_t read_big_endian(gzFile file, const char *path, const char *what) {
  uint8_t bytes[4];
  read_exactly(file, path, bytes, sizeof bytes, what);
  return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

/* Reads an IDX file of unsigned bytes with `rank` dimensions (1 or 3) into dims and returns
 * its data; dies with a message naming the file on any mismatch. */
static uint8_t *read_idx(const char *path, uint32_t magic, int rank, long *dims) {
  gzFile file = gzopen(path, "rb");
  if (file == NULL)
    die("cannot open %s: %s (install Debian's dataset-fashion-mnist or pass --data DIR)", path,
        errno ? strerror(errno) : "out of memory");
  uint32_t found = read_big_endian(file, path, "the magic number");
  if (found != magic)
    die("%s: magic number 0x%08x, expected 0x%08x (an IDX file of %s); is it the right file?", path, found,
        magic, rank == 3 ? "images" : "labels");
  size_t bytes = 1;
  for (int d = 0; d < rank; ++d) {
    dims[d] = (long)read_big_endian(file, path, "the dimensions");
    if (dims[d] <= 0 || dims[d] > 10000000)
      die("%s: dimension %d is %ld, which no IDX file of this dataset has", path, d, dims[d]);
    bytes *= (size_t)dims[d];
  }
  uint8_t *data = allocate(bytes);
  read_exactly(file, path, data, bytes, "the data");
  uint8_t extra;
  if (gzread(file, &extra, 1) != 0)
    die("%s: there is data after the %zu bytes its header announces", path, bytes);
  gzclose(file);
  return data;
}

static dataset load_dataset(const char *dir, const char *prefix, long classes) {
  char images_path[PATH_SIZE], labels_path[PATH_SIZE], name[64];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", prefix);
  join_path(images_path, dir, name);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte.gz", prefix);
  join_path(labels_path, dir, name);
  long image_dims[3], label_count;
  dataset set;
  set.pixels = read_idx(images_path, IDX_IMAGES_MAGIC, 3, image_dims);
  set.labels = read_idx(labels_path, IDX_LABELS_MAGIC, 1, &label_count);
  set.count = image_dims[0];
  set.rows = image_dims[1];
  set.cols = image_dims[2];
  if (label_count != set.count)
    die("%s has %ld images but %s has %ld labels", images_path, set.count, labels_path, label_count);
  for (long i = 0; i < set.count; ++i)
    if (set.labels[i] >= classes)
      die("%s: label %ld is %d, but the model has %ld classes", labels_path, i, set.labels[i], classes);
  return set;
}

/* ---- Batches ---- */

/* splitmix64: a small, well-mixed generator; one stream per (seed, epoch) so a resumed run
 * shuffles exactly like an uninterrupted one. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void shuffle_order(long *order, long count, uint64_t seed, int epoch) {
  uint64_t state = seed * UINT64_C(0x100000001B3) + (uint64_t)epoch;
  for (long i = 0; i < count; ++i)
    order[i] = i;
  for (long i = count - 1; i > 0; --i) { /* Fisher-Yates; the modulo bias is below 2^-40 */
    long j = (long)(next_random(&state) % (uint64_t)(i + 1));
    long swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
}

/* Copies images indices[0..count-1] of `set`, normalised, into `batch`; the rest of the batch
 * (when count < batch_size) is zero. Labels go to `labels` as floats when it is not NULL. */
static void fill_batch(const dataset *set, const long *indices, long count, long batch_size,
                       const float *pixel_values, float *batch, float *labels) {
  long image_size = set->rows * set->cols;
  for (long b = 0; b < count; ++b) {
    const uint8_t *pixels = set->pixels + indices[b] * image_size;
    for (long p = 0; p < image_size; ++p)
      batch[b * image_size + p] = pixel_values[pixels[p]];
    if (labels != NULL)
      labels[b] = (float)set->labels[indices[b]];
  }
  memset(batch + count * image_size, 0, (size_t)((batch_size - count) * image_size) * sizeof(float));
}

/* ---- Progress ---- */

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void format_duration(char *text, size_t size, double seconds) {
  long s = (long)(seconds + 0.5);
  if (s >= 3600)
    snprintf(text, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(text, size, "%ld:%02ld", s / 60, s % 60);
}

static void draw_progress_bar(int epoch, int epochs, long step, long steps, double mean_loss, double elapsed) {
  enum { WIDTH = 30 };
  char bar[WIDTH + 1], eta[32];
  long filled = step * WIDTH / steps;
  for (long i = 0; i < WIDTH; ++i)
    bar[i] = i < filled ? '#' : '.';
  bar[WIDTH] = '\0';
  format_duration(eta, sizeof eta, step > 0 ? elapsed / (double)step * (double)(steps - step) : 0.0);
  fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %ld/%ld  loss %.4f  ETA %s", epoch, epochs, bar, step, steps,
          mean_loss, eta);
  fflush(stderr);
}

/* ---- Training and evaluation ---- */

typedef struct trainer {
  lenet5_fashion_ctx *ctx;
  long batch_size, image_size, classes;
  float pixel_values[256]; /* the normalised value of each byte */
  float *batch, *labels, *logits;
} trainer;

/* One pass over the first `count` training images in shuffled order, whole batches only;
 * returns the mean loss of its steps. */
static double train_epoch(trainer *t, const dataset *train, long count, const options *o, int epoch,
                          bool show_progress) {
  long *order = allocate((size_t)count * sizeof(long));
  shuffle_order(order, count, o->seed, epoch);
  long steps = count / t->batch_size;
  double loss_sum = 0.0, start = now_seconds(), last_drawn = 0.0;
  for (long step = 0; step < steps; ++step) {
    fill_batch(train, order + step * t->batch_size, t->batch_size, t->batch_size, t->pixel_values, t->batch,
               t->labels);
    float loss;
    check(lenet5_fashion_train_step(t->ctx, t->batch, t->labels, &loss), t->ctx, "lenet5_fashion_train_step");
    if (!isfinite(loss))
      die("the loss is %g at step %lld: training diverged; try a smaller --lr", loss,
          (long long)lenet5_fashion_step_count(t->ctx));
    loss_sum += loss;
    double now = now_seconds();
    if (show_progress && (now - last_drawn > 0.1 || step + 1 == steps)) {
      draw_progress_bar(epoch, o->epochs, step + 1, steps, loss_sum / (double)(step + 1), now - start);
      last_drawn = now;
    }
  }
  if (show_progress)
    fprintf(stderr, "\r\033[K");
  free(order);
  return loss_sum / (double)steps;
}

/* The fraction of `set` classified correctly; the last partial batch is padded with zeros. */
static double evaluate(trainer *t, const dataset *set) {
  long correct = 0;
  long *indices = allocate((size_t)t->batch_size * sizeof(long));
  for (long first = 0; first < set->count; first += t->batch_size) {
    long count = set->count - first < t->batch_size ? set->count - first : t->batch_size;
    for (long b = 0; b < count; ++b)
      indices[b] = first + b;
    fill_batch(set, indices, count, t->batch_size, t->pixel_values, t->batch, NULL);
    check(lenet5_fashion_infer(t->ctx, t->batch, t->logits), t->ctx, "lenet5_fashion_infer");
    for (long b = 0; b < count; ++b) {
      const float *scores = t->logits + b * t->classes;
      long best = 0;
      for (long c = 1; c < t->classes; ++c)
        if (scores[c] > scores[best])
          best = c;
      correct += best == set->labels[first + b];
    }
  }
  free(indices);
  return (double)correct / (double)set->count;
}

/* ---- History and plot ---- */

/* Reads at most `capacity` rows of an earlier run's history.csv for epochs before `first_epoch`;
 * returns how many. */
static int read_history(const char *path, epoch_record *records, int capacity, int first_epoch) {
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    fprintf(stderr, PROGRAM ": note: no %s to continue (%s); it restarts at epoch %d\n", path, strerror(errno),
            first_epoch);
    return 0;
  }
  char line[256];
  int count = 0;
  while (fgets(line, sizeof line, file) != NULL && count < capacity) {
    epoch_record r;
    if (sscanf(line, "%d,%lf,%lf,%lf", &r.epoch, &r.train_loss, &r.test_accuracy, &r.seconds) == 4 &&
        r.epoch < first_epoch)
      records[count++] = r;
  }
  fclose(file);
  return count;
}

static void write_history(const char *path, const epoch_record *records, int count) {
  char temporary[PATH_SIZE + 8];
  snprintf(temporary, sizeof temporary, "%s.tmp", path);
  FILE *file = fopen(temporary, "w");
  if (file == NULL)
    die("cannot write %s: %s", temporary, strerror(errno));
  fprintf(file, "epoch,train_loss,test_accuracy,seconds\n");
  for (int i = 0; i < count; ++i)
    fprintf(file, "%d,%.6f,%.6f,%.3f\n", records[i].epoch, records[i].train_loss, records[i].test_accuracy,
            records[i].seconds);
  if (fclose(file) != 0 || rename(temporary, path) != 0)
    die("cannot write %s: %s", path, strerror(errno));
}

static bool program_on_path(const char *program) {
  const char *path = getenv("PATH");
  char candidate[PATH_SIZE];
  while (path != NULL && *path != '\0') {
    size_t length = strcspn(path, ":");
    if (snprintf(candidate, sizeof candidate, "%.*s/%s", (int)length, path, program) < PATH_SIZE &&
        access(candidate, X_OK) == 0)
      return true;
    path += length + (path[length] == ':');
  }
  return false;
}

/* Writes `text` as a gnuplot single-quoted string (a quote is doubled). */
static void put_gnuplot_string(FILE *script, const char *text) {
  fputc('\'', script);
  for (; *text; ++text) {
    if (*text == '\'')
      fputc('\'', script);
    fputc(*text, script);
  }
  fputc('\'', script);
}

/* Plots history.csv into history.png with gnuplot; a missing or failing gnuplot is only a
 * warning. Returns whether the plot was written. */
static bool plot_history(const char *csv_path, const char *png_path) {
  if (!program_on_path("gnuplot")) {
    fprintf(stderr, PROGRAM ": gnuplot is not installed (Debian: gnuplot-nox); %s not written\n", png_path);
    return false;
  }
  FILE *script = popen("gnuplot", "w");
  if (script == NULL) {
    fprintf(stderr, PROGRAM ": cannot start gnuplot: %s; %s not written\n", strerror(errno), png_path);
    return false;
  }
  fputs("set terminal png size 900,500\nset output ", script);
  put_gnuplot_string(script, png_path);
  fputs("\nset datafile separator ','\n"
        "set title 'LeNet-5 on Fashion-MNIST (Kiln)'\n"
        "set xlabel 'epoch'\nset ylabel 'mean training loss'\nset y2label 'test accuracy (%)'\n"
        "set ytics nomirror\nset y2tics\nset grid\nset key center right\n"
        "set xrange [0.5:*]\nset yrange [0:*]\nset y2range [*:100]\n" /* never empty, even for one epoch */
        "plot ",
        script);
  put_gnuplot_string(script, csv_path);
  fputs(" skip 1 using 1:2 with linespoints title 'training loss', \\\n     '' skip 1 using 1:($3*100) "
        "axes x1y2 with linespoints title 'test accuracy'\n",
        script);
  int status = pclose(script);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, PROGRAM ": gnuplot failed (status %d); %s may be missing\n", status, png_path);
    return false;
  }
  return true;
}

/* ---- Main ---- */

int main(int argc, char **argv) {
  options o = parse_options(argc, argv);
  const int64_t input_shape[] = LENET5_FASHION_INPUT_SHAPE, output_shape[] = LENET5_FASHION_OUTPUT_SHAPE;
  trainer t = {.batch_size = (long)input_shape[0],
               .image_size = (long)(input_shape[1] * input_shape[2] * input_shape[3]),
               .classes = (long)output_shape[1]};
  if (LENET5_FASHION_INPUT_RANK != 4 || input_shape[1] != 1 || LENET5_FASHION_OUTPUT_RANK != 2 ||
      LENET5_FASHION_LABELS_SIZE != t.batch_size)
    die("lenet5_fashion.h does not describe a 1-channel image classifier with one label per image");

  dataset train = load_dataset(o.data_dir, "train", t.classes);
  dataset test = load_dataset(o.data_dir, "t10k", t.classes);
  if (train.rows * train.cols != t.image_size || test.rows * test.cols != t.image_size)
    die("the images are %ldx%ld, but the model takes %lldx%lld", train.rows, train.cols,
        (long long)input_shape[2], (long long)input_shape[3]);
  long train_count = o.train_limit ? o.train_limit : train.count;
  if (train_count > train.count)
    die("--train-limit %ld: the training set has only %ld images", train_count, train.count);
  long steps_per_epoch = train_count / t.batch_size;
  if (steps_per_epoch == 0)
    die("--train-limit %ld is smaller than one batch (%ld images)", train_count, t.batch_size);

  for (int byte = 0; byte < 256; ++byte)
    t.pixel_values[byte] = ((float)byte / 255.0f - PIXEL_MEAN) / PIXEL_STD;
  t.batch = allocate(LENET5_FASHION_INPUT_SIZE * sizeof(float));
  t.labels = allocate(LENET5_FASHION_LABELS_SIZE * sizeof(float));
  t.logits = allocate(LENET5_FASHION_OUTPUT_SIZE * sizeof(float));

  kiln_status status = lenet5_fashion_create(&t.ctx);
  if (status != KILN_OK)
    die("lenet5_fashion_create: %s", kiln_status_string(status));
  check(lenet5_fashion_set_threads(t.ctx, o.threads), t.ctx, "lenet5_fashion_set_threads");

  if (mkdir(o.out_dir, 0777) != 0 && errno != EEXIST)
    die("cannot create the output directory %s: %s", o.out_dir, strerror(errno));
  char last_path[PATH_SIZE], csv_path[PATH_SIZE], png_path[PATH_SIZE];
  join_path(last_path, o.out_dir, "last.safetensors");
  join_path(csv_path, o.out_dir, "history.csv");
  join_path(png_path, o.out_dir, "history.png");

  int first_epoch = 1;
  if (o.resume) {
    if (access(last_path, R_OK) != 0)
      die("--resume: cannot read %s (%s); run once without --resume first", last_path, strerror(errno));
    check(lenet5_fashion_load(t.ctx, last_path), t.ctx, "lenet5_fashion_load");
    int64_t steps = lenet5_fashion_step_count(t.ctx);
    if (steps % steps_per_epoch != 0)
      die("%s was taken after %lld steps, not a whole number of epochs of %ld steps; resume with the "
          "--train-limit of the run that wrote it",
          last_path, (long long)steps, steps_per_epoch);
    first_epoch = (int)(steps / steps_per_epoch) + 1;
  }
  if (o.learning_rate >= 0.0)
    check(lenet5_fashion_set_learning_rate(t.ctx, (float)o.learning_rate), t.ctx, "lenet5_fashion_set_learning_rate");

  int capacity = o.epochs > first_epoch ? o.epochs : first_epoch;
  epoch_record *history = allocate((size_t)capacity * sizeof(epoch_record));
  int history_count = o.resume ? read_history(csv_path, history, first_epoch - 1, first_epoch) : 0;

  bool show_progress = isatty(STDERR_FILENO);
  if (first_epoch <= o.epochs)
    printf("%s: %ld training images (%ld steps of %ld per epoch), %ld test images; %s, learning rate %g; "
           "epochs %d..%d\n",
           PROGRAM, train_count, steps_per_epoch, t.batch_size, test.count, lenet5_fashion_training_info()->optimizer,
           (double)lenet5_fashion_learning_rate(t.ctx), first_epoch, o.epochs);
  fflush(stdout);

  double accuracy = -1.0;
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    double start = now_seconds();
    double loss = train_epoch(&t, &train, train_count, &o, epoch, show_progress);
    double seconds = now_seconds() - start;
    accuracy = evaluate(&t, &test);
    printf("epoch %d/%d: train loss %.4f, test accuracy %.2f%%, %.1f s (%.0f images/s)\n", epoch, o.epochs, loss,
           100.0 * accuracy, seconds, (double)(steps_per_epoch * t.batch_size) / seconds);
    fflush(stdout);

    char epoch_name[64], epoch_path[PATH_SIZE];
    snprintf(epoch_name, sizeof epoch_name, "epoch-%d.safetensors", epoch);
    join_path(epoch_path, o.out_dir, epoch_name);
    check(lenet5_fashion_save(t.ctx, epoch_path), t.ctx, "lenet5_fashion_save");
    check(lenet5_fashion_save(t.ctx, last_path), t.ctx, "lenet5_fashion_save");
    history[history_count++] = (epoch_record){epoch, loss, accuracy, seconds};
    write_history(csv_path, history, history_count);
  }
  if (accuracy < 0.0) {
    printf("%s: %s already holds %d epochs; nothing to train\n", PROGRAM, last_path, first_epoch - 1);
    accuracy = evaluate(&t, &test);
    printf("test accuracy %.2f%%\n", 100.0 * accuracy);
  } else {
    printf("wrote %s and %s\n", last_path, csv_path);
    if (plot_history(csv_path, png_path))
      printf("wrote %s\n", png_path);
  }

  lenet5_fashion_destroy(t.ctx);
  free(history);
  free(t.batch);
  free(t.labels);
  free(t.logits);
  free(train.pixels);
  free(train.labels);
  free(test.pixels);
  free(test.labels);
  if (accuracy < o.min_accuracy) {
    fprintf(stderr, PROGRAM ": FAILED: test accuracy %.2f%% is below --min-accuracy %.2f%%\n", 100.0 * accuracy,
            100.0 * o.min_accuracy);
    return 3;
  }
  return 0;
}
