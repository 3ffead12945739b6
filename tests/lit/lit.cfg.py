# lit configuration of Kiln's FileCheck tests: .mlir and .kiln files under tests/lit, with the
# Kiln tools and LLVM's FileCheck/not/split-file substituted by their full paths.
import os

import lit.formats

config.name = "Kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".kiln"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.kiln_obj_root


def tool(name, path):
    # Whole words only: not inside paths, file names or longer tool names.
    config.substitutions.append((r"(?<![\w/.-])" + name.replace("-", r"\-") + r"(?![\w/.-])", path))


tool("kiln-opt", config.kiln_opt)
tool("kiln-translate", config.kiln_translate)
tool("kiln", config.kiln)
for name in ["FileCheck", "not", "split-file", "count"]:
    tool(name, os.path.join(config.llvm_tools_dir, name))
