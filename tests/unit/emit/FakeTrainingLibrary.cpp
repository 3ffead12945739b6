// kiln_fake_training_library DIR NAME [bare] [classes]: writes DIR/libNAME.so, libNAME.a and
// NAME.h for the fake trainee model (FakeTraining.h) so that end-to-end tests can drive
// `kiln train` without a real training compile. `bare` selects the bare-pointer ABI, `classes`
// class-index labels (one-hot targets) instead of float targets.
#include "FakeTraining.h"

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DIR NAME [bare] [classes]\n", argv[0]);
    return 2;
  }
  bool bare = false, classes = false;
  for (int i = 3; i < argc; ++i) {
    bare |= std::strcmp(argv[i], "bare") == 0;
    classes |= std::strcmp(argv[i], "classes") == 0;
  }
  std::string error;
  if (!kiln::test::buildTrainee(argv[2], bare ? kiln::BackendAbi::BarePointers : kiln::BackendAbi::HalideBuffers,
                                classes, argv[1], error)) {
    std::fprintf(stderr, "kiln_fake_training_library: %s\n", error.c_str());
    return 1;
  }
  return 0;
}
