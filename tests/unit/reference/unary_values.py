# Prints the expected values of tests/unit/reference/unary.cpp: each nn.unary function and its
# derivative, computed by PyTorch in float64 (autograd for the derivative), as C++ initializers.
# Run with /usr/bin/python3 (Debian's torch 1.13) and paste the output into kUnaryValues.
import textwrap

import torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
general = [-2.5, -1.0, -0.3, 0.0, 0.2, 0.7, 1.5, 3.0]
positive = [0.2, 0.5, 1.0, 2.5, 4.0]
rounding = [-2.5, -1.5, -0.5, -0.3, 0.5, 0.7, 1.5, 2.5]

cases = [
 ("exp", 1, 1, general, torch.exp),
 ("log", 1, 1, positive, torch.log),
 ("sqrt", 1, 1, positive, torch.sqrt),
 ("abs", 1, 1, general, torch.abs),
 ("erf", 1, 1, general, torch.erf),
 ("floor", 1, 1, general, torch.floor),
 ("ceil", 1, 1, general, torch.ceil),
 ("neg", 1, 1, general, torch.neg),
 ("reciprocal", 1, 1, positive, torch.reciprocal),
 ("round", 1, 1, rounding, torch.round),
 ("sign", 1, 1, general, torch.sign),
 ("step", 1, 1, general, lambda x: (x > 0).to(x.dtype) + 0 * x),
 ("pow", 3, 1, general, lambda x: torch.pow(x, 3)),
 ("pow", 2.5, 1, positive, lambda x: torch.pow(x, 2.5)),
 ("elu", 0.7, 1, general, lambda x: F.elu(x, 0.7)),
 ("selu", 1.6732632423543772, 1.0507009873554805, general, F.selu),
 # celu as alpha * elu(x / alpha): torch's own celu backward rounds alpha to float (1e-8 off).
 ("celu", 0.8, 1, general, lambda x: 0.8 * F.elu(x / 0.8)),
 ("softplus", 1, 1, general, F.softplus),
 ("softsign", 1, 1, general, F.softsign),
 ("mish", 1, 1, general, F.mish),
 ("gelu", 1, 1, general, F.gelu),
 ("gelu_tanh", 1, 1, general, lambda x: F.gelu(x, approximate="tanh")),
 ("thresholded_relu", 0.4, 1, general, lambda x: F.threshold(x, 0.4, 0.0)),
 ("silu", 1, 1, general, F.silu),
 ("affine", -0.7, 0.3, general, lambda x: -0.7 * x + 0.3),
]
def values(numbers):
    """A braced C++ list, wrapped at 110 columns under a 5-space indent."""
    return textwrap.fill("{" + ", ".join("%.15g" % v for v in numbers) + "}", 110,
                         initial_indent="     ", subsequent_indent="      ")

for name, alpha, beta, xs, fn in cases:
    x = torch.tensor(xs, requires_grad=True)
    y = fn(x)
    g = torch.autograd.grad(y.sum(), x)[0] if y.requires_grad else torch.zeros_like(x)
    print('    {"%s", %.17g, %.17g,' % (name, alpha, beta))
    print(values(xs) + ",")
    print(values(y.tolist()) + ",")
    print(values(g.tolist()) + "},")
