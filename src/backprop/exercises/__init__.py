""""Your turn" checkers: one call per exercise, so a learner who writes a backward pass learns
at once whether it is right, and if not, which quantity is wrong first and why.

In a chapter::

    from backprop import exercises as check

    def linear_backward(x, weight, grad_out):
        ...

    check.linear_backward(linear_backward)

Each check builds its own seeded inputs, runs the learner's function and the reference (the
library's own code), and returns a ``CheckResult``: a table of every quantity in backward order,
the first wrong one with its expected and received shapes, and a hint naming the likely mistake.
A skeleton (``...``) reports "not done yet" and a learner's exception is reported, not raised, so
a notebook with unsolved exercises still runs to the end. The result is truthy only when the
answer is right: ``assert check.linear_backward(linear_backward)``.
"""

from backprop.exercises._core import CheckResult, distinguish_exact
from backprop.exercises.chain_rule import central_differences, tinynet_backward
from backprop.exercises.data import one_hot, prepare_images
from backprop.exercises.manualgrad import (
    linear_backward,
    sigmoid_backward,
    softmax_cross_entropy_backward,
)
from backprop.exercises.training_fails import clip_grad_norm, diagnose_run, grad_norm
from backprop.exercises.engine import mul_backward, sum_backward, tensor_sqrt, topological_order
from backprop.exercises.logistic import bce_gradient, logistic_step
from backprop.exercises.mlp import mlp_backward, mlp_training
from backprop.exercises.cost import backprop_cost, finite_difference_cost
from backprop.exercises.value import value_engine

__all__ = [
    "CheckResult",
    "distinguish_exact",
    "tinynet_backward",
    "central_differences",
    "prepare_images",
    "one_hot",
    "linear_backward",
    "sigmoid_backward",
    "softmax_cross_entropy_backward",
    "grad_norm",
    "clip_grad_norm",
    "diagnose_run",
    "mul_backward",
    "sum_backward",
    "tensor_sqrt",
    "topological_order",
    "bce_gradient",
    "logistic_step",
    "mlp_backward",
    "mlp_training",
    "backprop_cost",
    "finite_difference_cost",
    "value_engine",
]
