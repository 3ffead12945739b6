/* Fake bare-pointer backend for emit tests (BackendAbi::BarePointers, the MLIR backend's entry):
 * out_0 = in_0 * 2 + 1 over float32[2][3][4]; returns -27 when in_0[0] is -1000. */
int fake_bare(void *user_context, const float *in_0, float *out_0) {
  int i;
  (void)user_context;
  if (in_0[0] == -1000.0f)
    return -27;
  for (i = 0; i < 24; ++i)
    out_0[i] = in_0[i] * 2.0f + 1.0f;
  return 0;
}
