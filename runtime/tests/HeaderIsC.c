/* Proves kiln/runtime.h, kiln/glue.h and kiln/checkpoint.h compile as strict C11 and can be included twice. */
#include "kiln/runtime.h"
#include "kiln/runtime.h"
#include "kiln/glue.h"
#include "kiln/checkpoint.h"
#include "kiln/checkpoint.h"

int kiln_test_header_is_c(void) {
  kiln_tensor_info info = {"x", 2, {3, 4}};
  return (int)kiln_tensor_info_element_count(&info);
}
