"""Writes a PyTorch module as a Kiln text model (for tests and benchmarks).

torch.fx traces the module; each node becomes one Kiln layer named after the module path, so
the module's state_dict is the Kiln weights file as is (minus num_batches_tracked). Covers the
layers of the seed networks: Conv2d, BatchNorm2d, ReLU/Tanh/Sigmoid/LeakyReLU, MaxPool2d,
AvgPool2d, AdaptiveAvgPool2d to 1x1 (global) or to the input's own size (dropped), Linear, Dropout, flatten, add, cat."""
import operator

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _same_shape(node, other):
    return node.meta["tensor_meta"].shape == other.meta["tensor_meta"].shape


def _hw(v):
    h, w = _pair(v)
    return f"{h}x{w}"


class _Writer:
    def __init__(self, module, input_shape):
        self.module = module
        self.lines = [f"input x: {'x'.join(map(str, input_shape))}"]
        self.names = {}
        self.shapes = {}
        self.used = set()

    def name_for(self, node):
        base = node.target if node.op == "call_module" else node.name
        name = str(base)
        while name in self.used:
            name += "_"
        self.used.add(name)
        return name

    def module_layer(self, mod, args):
        if isinstance(mod, nn.Conv2d):
            pad = _pair(mod.padding)
            return (f"conv2d({args}) filters={mod.out_channels} kernel={_hw(mod.kernel_size)} "
                    f"stride={_hw(mod.stride)} padding={pad[0]}x{pad[1]} dilation={_hw(mod.dilation)} "
                    f"groups={mod.groups} bias={'true' if mod.bias is not None else 'false'}")
        if isinstance(mod, nn.BatchNorm2d):
            return f"batch_norm({args}) epsilon={mod.eps}"
        if isinstance(mod, nn.ReLU):
            return f"relu({args})"
        if isinstance(mod, nn.Tanh):
            return f"tanh({args})"
        if isinstance(mod, nn.Sigmoid):
            return f"sigmoid({args})"
        if isinstance(mod, nn.LeakyReLU):
            return f"leaky_relu({args}) alpha={mod.negative_slope}"
        if isinstance(mod, nn.MaxPool2d):
            assert not mod.ceil_mode and _pair(mod.dilation) == (1, 1)
            pad = _pair(mod.padding)
            return f"max_pool2d({args}) kernel={_hw(mod.kernel_size)} stride={_hw(mod.stride)} padding={pad[0]}x{pad[1]}"
        if isinstance(mod, nn.AvgPool2d):
            pad = _pair(mod.padding)
            return (f"avg_pool2d({args}) kernel={_hw(mod.kernel_size)} stride={_hw(mod.stride)} "
                    f"padding={pad[0]}x{pad[1]} count_include_pad={'true' if mod.count_include_pad else 'false'}")
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            if _pair(mod.output_size) != (1, 1):
                raise NotImplementedError("AdaptiveAvgPool2d to a size other than 1x1 or the input's own")
            return f"global_avg_pool({args})"
        if isinstance(mod, nn.Linear):
            return f"dense({args}) units={mod.out_features} bias={'true' if mod.bias is not None else 'false'}"
        if isinstance(mod, nn.Dropout):
            return f"dropout({args}) rate={mod.p}"
        if isinstance(mod, nn.Flatten):
            return f"flatten({args})"
        raise NotImplementedError(f"no Kiln layer for {type(mod).__name__}")

    def function_layer(self, node, args):
        if node.target in (torch.flatten,):
            return f"flatten({args})"
        if node.target in (operator.add, torch.add):
            return f"add({args})"
        if node.target in (torch.cat,):
            return f"concat({args}) axis={node.kwargs.get('dim', node.args[1] if len(node.args) > 1 else 0)}"
        if node.target in (F.relu, torch.relu):
            return f"relu({args})"
        if node.target in (torch.tanh, F.tanh):
            return f"tanh({args})"
        if node.target in (F.avg_pool2d, F.max_pool2d):
            kernel = node.args[1] if len(node.args) > 1 else node.kwargs["kernel_size"]
            stride = node.args[2] if len(node.args) > 2 else node.kwargs.get("stride") or kernel
            if node.kwargs.get("ceil_mode") or node.kwargs.get("padding"):
                raise NotImplementedError(f"{node.target.__name__} with padding or ceil_mode")
            return f"{node.target.__name__}({args}) kernel={_hw(kernel)} stride={_hw(stride)} padding=0x0"
        raise NotImplementedError(f"no Kiln layer for {node.target}")

    def write(self, input_shape):
        traced = torch.fx.symbolic_trace(self.module).eval()
        ShapeProp(traced).propagate(torch.zeros(input_shape))
        for node in traced.graph.nodes:
            if node.op == "placeholder":
                self.names[node] = "x"
                continue
            if node.op == "output":
                self.lines.append(f"output {self.names[node.args[0]]}")
                continue
            inputs = [a for a in torch.fx.node.map_arg(node.args, lambda n: n) if isinstance(a, torch.fx.Node)]
            if node.target is torch.cat:
                inputs = list(node.args[0])
            args = ", ".join(self.names[a] for a in inputs)
            if node.op == "call_module":
                mod = self.module.get_submodule(node.target)
                if isinstance(mod, nn.Identity) or _same_shape(node, inputs[0]) and isinstance(mod, nn.AdaptiveAvgPool2d):
                    self.names[node] = self.names[inputs[0]]
                    continue
                layer = self.module_layer(mod, args)
            else:
                layer = self.function_layer(node, args)
            name = self.name_for(node)
            self.names[node] = name
            self.lines.append(f"{name} = {layer}")
        return "\n".join(self.lines) + "\n"


def kiln_text(module, input_shape):
    """The Kiln text form of `module` for an input of `input_shape` (NCHW)."""
    return _Writer(module, input_shape).write(input_shape)


def kiln_weights(module):
    """The module's parameters and buffers as a name -> float32 array dict for safetensors."""
    return {k: v.detach().float().numpy() for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
