// Text helpers for the generated header and glue (see GlueText.h).
#include "compiler/emit/GlueText.h"

#include <cctype>
#include <cstdio>

namespace kiln::glue {

std::string upper(const std::string &s) {
  std::string out = s;
  for (char &c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string cString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string commentText(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n' || c == '\r')
      c = ' ';
    out += c;
    if (c == '*' && i + 1 < s.size() && s[i + 1] == '/')
      out += ' ';
  }
  return out;
}

std::string joinShape(const std::vector<int64_t> &shape, const char *sep) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? sep : "") + std::to_string(shape[i]);
  return s;
}

int64_t elementCount(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string describe(const TensorSpec &t) {
  std::string s = "\"" + commentText(t.name) + "\": float32";
  for (int64_t d : t.shape)
    s += "[" + std::to_string(d) + "]";
  return s;
}

void writeTensorInfoArray(std::ostream &g, const std::vector<TensorSpec> &list, const std::string &var) {
  g << "static const kiln_tensor_info " << var << "[] = {\n";
  for (const TensorSpec &t : list)
    g << "  {" << cString(t.name) << ", " << t.shape.size() << ", {" << joinShape(t.shape, ", ") << "}},\n";
  if (list.empty())
    g << "  {\"\", 0, {0}},\n";
  g << "};\n";
}

void writeInputChecks(std::ostream &g, const std::string &function, size_t numInputs) {
  if (numInputs == 0) {
    g << "  (void)inputs;\n";
    return;
  }
  g << "  if (inputs == NULL)\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT,\n"
    << "        \"" << function << ": inputs is NULL; pass an array of " << numInputs << " input pointer(s)\");\n"
    << "  for (i = 0; i < " << numInputs << "; ++i)\n"
    << "    if (inputs[i] == NULL)\n"
    << "      return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT,\n"
    << "          \"" << function << ": inputs[%d] (input '%s') is NULL; pass %lld floats\", i,\n"
    << "          kiln_glue_inputs[i].name, (long long)kiln_tensor_info_element_count(&kiln_glue_inputs[i]));\n";
}

void writeBackendDeclaration(std::ostream &g, BackendAbi abi, const std::string &fn,
                             const std::vector<BackendArgument> &arguments) {
  if (abi == BackendAbi::BarePointers) // libomp's, without needing omp.h
    g << "extern int omp_get_max_threads(void);\n"
      << "extern void omp_set_num_threads(int threads);\n";
  g << "extern int " << fn << "(void *user_context";
  for (const BackendArgument &a : arguments)
    g << (abi == BackendAbi::HalideBuffers ? ", struct halide_buffer_t *" : a.written ? ", float *" : ", const float *");
  g << ");\n";
}

std::vector<BackendCall> backendCalls(const std::string &function, const std::vector<BackendArgument> &arguments,
                                      const FunctionParts &parts, const std::string &table) {
  if (parts.parts.empty())
    return {{function, arguments}};
  std::vector<BackendCall> calls;
  for (const FunctionParts::Part &part : parts.parts) {
    BackendCall call{part.function, {}};
    for (size_t k = 0; k < part.arguments.size(); ++k) {
      const FunctionParts::Argument &a = part.arguments[k];
      const std::string index = std::to_string(a.index);
      BackendArgument argument = a.temporary ? BackendArgument{"ctx->temporaries + " + table + "_offsets[" + index + "]",
                                                               "&" + table + "[" + index + "]"}
                                             : arguments.at(a.index);
      argument.written = k >= part.numInputs;
      call.arguments.push_back(argument);
    }
    calls.push_back(call);
  }
  return calls;
}

/// Floats from one temporary's start to the next's (64-byte aligned starts).
static int64_t temporarySpan(const TensorSpec &temporary) { return (elementCount(temporary.shape) + 15) / 16 * 16; }

int64_t temporaryFloats(const FunctionParts &parts) {
  int64_t floats = 0;
  for (const TensorSpec &temporary : parts.temporaries)
    floats += temporarySpan(temporary);
  return floats;
}

int64_t writeTemporaryTables(std::ostream &g, const FunctionParts &parts, const std::string &table) {
  writeTensorInfoArray(g, parts.temporaries, table);
  g << "static const size_t " << table << "_offsets[] = {";
  int64_t floats = 0;
  for (size_t k = 0; k < parts.temporaries.size(); ++k) {
    g << (k ? ", " : "") << floats;
    floats += temporarySpan(parts.temporaries[k]);
  }
  g << (parts.temporaries.empty() ? "0};\n" : "};\n");
  return floats;
}

void writeBackendCall(std::ostream &g, BackendAbi abi, const std::string &fn, const std::string &function,
                      const std::vector<BackendArgument> &arguments, const std::string &buffers,
                      const std::string &dims) {
  const bool halide = abi == BackendAbi::HalideBuffers;
  if (halide) {
    for (size_t k = 0; k < arguments.size(); ++k)
      g << "  kiln_glue_describe(&" << buffers << "[" << k << "], " << dims << "[" << k << "], " << arguments[k].data
        << ", " << arguments[k].info << ");\n";
    g << "  halide_set_num_threads(kiln_threads_resolve(ctx->threads));\n";
  } else { // OpenMP's thread count belongs to the calling thread: set for this call, then restored
    g << "  const int caller_threads = omp_get_max_threads();\n"
      << "  omp_set_num_threads(kiln_threads_resolve(ctx->threads));\n"
      << "  kiln_glue_running_blocks = &ctx->blocks;\n";
  }
  g << "  result = " << fn << "(&ctx->error";
  for (size_t k = 0; k < arguments.size(); ++k)
    g << ", " << (halide ? "&" + buffers + "[" + std::to_string(k) + "]" : arguments[k].data);
  g << ");\n";
  if (!halide)
    g << "  kiln_glue_running_blocks = NULL;\n"
      << "  omp_set_num_threads(caller_threads);\n";
  g << "  if (result != 0) {\n"
    << "    char backend_message[KILN_MESSAGE_CAPACITY];\n"
    << "    memcpy(backend_message, ctx->error.text, sizeof backend_message);\n"
    << "    return (kiln_status)kiln_message_fail(&ctx->error, KILN_ERROR_BACKEND,\n"
    << "        \"" << function << ": the compiled model failed (" << (halide ? "Halide error" : "error")
    << " code %d)%s%s\", result,\n"
    << "        backend_message[0] ? \": \" : \"\", backend_message);\n"
    << "  }\n";
}

} // namespace kiln::glue
