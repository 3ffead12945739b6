// Builds real Halide AOT objects for the emit tests, following the backend contract
// (user_context + no_runtime pipeline, plus a standalone runtime):
//   hl_affine(in_0 f32[2][3][4]) -> out_0 = 2 * in_0 + 1, parallel over the outer dimension;
//   hl_shift(in_0 f32[2][3][4]) -> out_0(x) = in_0(x + 1): reads out of bounds, so Halide fails.
// Usage: kiln_emit_halide_fixture <output dir>
#include <Halide.h>

#include <string>

using namespace Halide;

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  std::string dir = std::string(argv[1]) + "/";
  Target target = get_host_target().with_feature(Target::UserContext);
  Var x("x"), y("y"), z("z");
  {
    ImageParam in(Float(32), 3, "in_0");
    Func out("out_0");
    out(x, y, z) = in(x, y, z) * 2.0f + 1.0f;
    out.parallel(z);
    out.compile_to_object(dir + "hl_affine.o", {in}, "hl_affine", target.with_feature(Target::NoRuntime));
  }
  {
    ImageParam in(Float(32), 3, "in_0");
    Func out("out_0");
    out(x, y, z) = in(x + 1, y, z);
    out.compile_to_object(dir + "hl_shift.o", {in}, "hl_shift", target.with_feature(Target::NoRuntime));
  }
  compile_standalone_runtime(dir + "hl_halide_runtime.o", target);
  return 0;
}
