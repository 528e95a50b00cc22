"""Answers to every "Your turn" exercise, as learners write them: the reference solution (the
text the chapters hold between ### BEGIN SOLUTION and ### END SOLUTION), the skeleton, and
typical wrong answers, each with a fragment of the hint the checker must give.

Written independently of the checker's own catalogue of mistakes in ``backprop.exercises``:
these are what a learner types, the catalogue is how the checker recognises it.
"""

import numpy as np

from backprop import tinynet
from backprop.autograd import Tensor

# ----------------------------------------------------------------------------- chain rule


def tinynet_backward(weights, inputs, targets):
    f = tinynet.forward(weights, inputs, targets)
    w1, w2, w3, w4, w5, w6, w7, w8 = weights
    i1, i2 = inputs
    t1, t2 = targets
    delta_o1 = (f.a_o1 - t1) * f.a_o1 * (1 - f.a_o1)
    delta_o2 = (f.a_o2 - t2) * f.a_o2 * (1 - f.a_o2)
    delta_h1 = (delta_o1 * w5 + delta_o2 * w7) * f.a_h1 * (1 - f.a_h1)
    delta_h2 = (delta_o1 * w6 + delta_o2 * w8) * f.a_h2 * (1 - f.a_h2)
    grads = [delta_h1 * i1, delta_h1 * i2, delta_h2 * i1, delta_h2 * i2,
             delta_o1 * f.a_h1, delta_o1 * f.a_h2, delta_o2 * f.a_h1, delta_o2 * f.a_h2]
    return {"delta_o1": delta_o1, "delta_o2": delta_o2,
            "delta_h1": delta_h1, "delta_h2": delta_h2, "grads": grads}


def _tinynet_wrong(sign=1.0, slope=True, both_paths=True, swap=False, use_h=False):
    def backward(weights, inputs, targets):
        f = tinynet.forward(weights, inputs, targets)
        w1, w2, w3, w4, w5, w6, w7, w8 = weights
        i1, i2 = inputs
        t1, t2 = targets
        s1 = f.a_o1 * (1 - f.a_o1) if slope else f.a_o1
        s2 = f.a_o2 * (1 - f.a_o2) if slope else f.a_o2
        delta_o1 = sign * (f.a_o1 - t1) * s1
        delta_o2 = sign * (f.a_o2 - t2) * s2
        wa, wb = (w6, w7) if not swap else (w7, w6)
        delta_h1 = (delta_o1 * w5 + both_paths * delta_o2 * wb) * f.a_h1 * (1 - f.a_h1)
        delta_h2 = (delta_o1 * wa + delta_o2 * w8) * f.a_h2 * (1 - f.a_h2)
        v1, v2 = (f.h1, f.h2) if use_h else (f.a_h1, f.a_h2)
        grads = [delta_h1 * i1, delta_h1 * i2, delta_h2 * i1, delta_h2 * i2,
                 delta_o1 * v1, delta_o1 * v2, delta_o2 * v1, delta_o2 * v2]
        return {"delta_o1": delta_o1, "delta_o2": delta_o2,
                "delta_h1": delta_h1, "delta_h2": delta_h2, "grads": grads}
    return backward


TINYNET_WRONG = [
    (_tinynet_wrong(sign=-1.0), "sign is flipped"),
    (_tinynet_wrong(slope=False), "not a_o itself"),
    (_tinynet_wrong(both_paths=False), "BOTH outputs"),
    (_tinynet_wrong(swap=True), "transposed"),
    (_tinynet_wrong(use_h=True), "not its weighted sum h"),
]

# ----------------------------------------------------------------------------- ManualGrad


def linear_backward(x, weight, grad_out):
    grad_weight = grad_out.T @ x
    grad_bias = grad_out.sum(axis=0)
    grad_x = grad_out @ weight
    return grad_weight, grad_bias, grad_x


LINEAR_WRONG = [
    (lambda x, w, g: (x.T @ g, g.sum(axis=0), g @ w), "transposed"),
    (lambda x, w, g: (g.T @ x, g, g @ w), "SUM over the batch axis"),
    (lambda x, w, g: (g.T @ x, g.mean(axis=0), g @ w), "SUM of grad_out over the batch"),
    (lambda x, w, g: (g.T @ x / len(x), g.sum(axis=0), g @ w), "one 1/N too many"),
    (lambda x, w, g: (g.T @ x, g.sum(axis=0), g @ w.T), "do not line up"),
    (lambda x, w, g: (-(g.T @ x), -g.sum(axis=0), -(g @ w)), "sign is flipped"),
]


def sigmoid_backward(out, grad_out):
    return grad_out * out * (1 - out)


SIGMOID_WRONG = [
    (lambda out, g: g * out, "DERIVATIVE"),
    (lambda out, g: out * (1 - out), "incoming gradient grad_out"),
    (lambda out, g: g / (1 + np.exp(-out)) * (1 - 1 / (1 + np.exp(-out))), "σ(σ(x))"),
    (lambda out, g: g * out * (out - 1), "sign is flipped"),
]


def softmax_cross_entropy_backward(logits, targets):
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    probs[np.arange(len(targets)), targets] -= 1
    return probs / len(targets)


def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ce_rows(z, y):
    p = _softmax(z)
    p[y] -= 1
    return p / len(y)


SOFTMAX_WRONG = [
    (lambda z, y: (_softmax(z) - np.eye(4)[y]), "1/N of the mean over the batch is missing"),
    (lambda z, y: _softmax(z) / len(y), "one-hot target is missing"),
    (lambda z, y: (np.eye(4)[y] - _softmax(z)) / len(y), "sign is flipped"),
    (lambda z, y: (z - np.eye(4)[y]) / len(y), "softmax(z) first"),
    (lambda z, y: (_softmax(z, axis=0) - np.eye(4)[y]) / len(y), "wrong axis"),
    (_ce_rows, "wrong places"),
]

# ----------------------------------------------------------------------------- when training fails


def grad_norm(grads):
    return np.sqrt(sum(np.sum(g**2) for g in grads))


def _last_only(grads):
    for g in grads:
        total = np.sum(g**2)
    return np.sqrt(total)


GRAD_NORM_WRONG = [
    (lambda grads: sum(np.linalg.norm(g) for g in grads), "ONE long vector"),
    (lambda grads: sum(np.sum(g**2) for g in grads), "square root is missing"),
    (lambda grads: np.sqrt(np.mean(np.concatenate([g.ravel() for g in grads]) ** 2)),
     "root-mean-square"),
    (_last_only, "overwritten"),
    (lambda grads: max(np.linalg.norm(g) for g in grads), "largest"),
]


def clip_grad_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    if norm > max_norm:
        grads = [g * (max_norm / norm) for g in grads]
    return grads


def _total(grads):
    return np.sqrt(sum(np.sum(g**2) for g in grads))


CLIP_WRONG = [
    (lambda grads, m: [g * min(1, m / np.linalg.norm(g)) for g in grads], "its own norm"),
    (lambda grads, m: [g * (m / _total(grads)) for g in grads], "exceeds max_norm"),
    (lambda grads, m: [np.clip(g, -m, m) for g in grads], "VALUE"),
    (lambda grads, m: [g * min(1, _total(grads) / m) for g in grads], "upside down"),
]

# ----------------------------------------------------------------------------- AutoGrad


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def mul_backward(a, b, grad):
    return _unbroadcast(grad * b, a.shape), _unbroadcast(grad * a, b.shape)


def _mean_unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.mean(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.mean(axis=axis, keepdims=True)
    return grad


MUL_WRONG = [
    (lambda a, b, g: (g * b, g * a), "unbroadcast"),
    (lambda a, b, g: (_unbroadcast(g * a, a.shape), _unbroadcast(g * b, b.shape)), "OTHER input"),
    (lambda a, b, g: ((g * b).sum(axis=0), (g * a).sum(axis=0)), "axis 0"),
    (lambda a, b, g: (_mean_unbroadcast(g * b, a.shape), _mean_unbroadcast(g * a, b.shape)),
     "not their mean"),
]


def sum_backward(x, axis, keepdims, grad):
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, x.shape)


SUM_WRONG = [
    (lambda x, axis, keepdims, g: g, "stretch grad back"),
    (lambda x, axis, keepdims, g: sum_backward(x, axis, keepdims, g) * g.size / x.size,
     "backward of mean"),
    (lambda x, axis, keepdims, g: np.ones_like(x), "not ones"),
    (lambda x, axis, keepdims, g: np.broadcast_to(g, x.shape), "np.expand_dims"),
]


def tensor_sqrt(x):
    out_data = np.sqrt(x.data)
    out = Tensor(out_data, inputs=(x,), op="sqrt")

    def backward(grad):
        x.add_grad(grad * 0.5 / out_data)

    out.backward_fn = backward
    return out


def _sqrt_with(rule, overwrite=False, attach=True):
    def sqrt(x):
        out_data = np.sqrt(x.data)
        out = Tensor(out_data, inputs=(x,), op="sqrt")

        def backward(grad):
            if overwrite:
                x.grad = rule(grad, x.data, out_data)
            else:
                x.add_grad(rule(grad, x.data, out_data))

        if attach:
            out.backward_fn = backward
        return out
    return sqrt


SQRT_WRONG = [
    (_sqrt_with(lambda g, x, s: g * 0.5 / s, overwrite=True), "overwritten"),
    (_sqrt_with(lambda g, x, s: g / s), "1/2 is missing"),
    (_sqrt_with(lambda g, x, s: 0.5 * s * g), "power rule"),
    (_sqrt_with(lambda g, x, s: -g * 0.5 / s), "sign is flipped"),
    (_sqrt_with(lambda g, x, s: g * 0.5 / s, attach=False), "out.backward_fn = backward"),
    (lambda x: Tensor(np.sqrt(x.data)), "inputs=(x,)"),
]


def topological_order(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.inputs)
    return order[::-1]


def _topo_recursive(root):
    order, visited = [], set()

    def visit(node):
        if id(node) not in visited:
            visited.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    return order[::-1]


def _topo_duplicates(root):
    order, stack = [], [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.inputs)
    return order[::-1]


def _topo_preorder(root):
    order, visited, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in visited:
            visited.add(id(node))
            order.append(node)
            stack.extend(node.inputs)
    return order


TOPO_WRONG = [
    (_topo_duplicates, "appears twice"),
    (lambda root: topological_order(root)[::-1], "reversed"),
    (_topo_preorder, "before it has received all of it"),
    (_topo_recursive, "recursion limit"),
]

# ----------------------------------------------------------------------------- logistic regression


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def bce_gradient(x, y, w, b):
    p = _sigmoid(x @ w + b)
    grad_w = x.T @ (p - y) / len(y)
    grad_b = np.mean(p - y)
    return grad_w, grad_b


BCE_WRONG = [
    (lambda x, y, w, b: (x.T @ (_sigmoid(x @ w + b) - y), np.sum(_sigmoid(x @ w + b) - y)),
     "1/N of the mean over the batch is missing"),
    (lambda x, y, w, b: (x.T @ (y - _sigmoid(x @ w + b)) / len(y),
                         np.mean(y - _sigmoid(x @ w + b))), "sign is flipped"),
    (lambda x, y, w, b: (x.T @ (x @ w + b - y) / len(y), np.mean(x @ w + b - y)), "only the logit"),
    (lambda x, y, w, b: (x.T @ (_sigmoid(x @ w + b) - y) / len(y),
                         (_sigmoid(x @ w + b) - y) / len(y)), "one number"),
]


def logistic_step(x, y, w, b, lr):
    grad_w, grad_b = bce_gradient(x, y, w, b)
    return w - lr * grad_w, b - lr * grad_b


def _step_stale(x, y, w, b, lr):
    grad_w, _ = bce_gradient(x, y, w, b)
    w = w - lr * grad_w
    _, grad_b = bce_gradient(x, y, w, b)
    return w, b - lr * grad_b


STEP_WRONG = [
    (lambda x, y, w, b, lr: tuple(p + lr * g for p, g in zip((w, b), bce_gradient(x, y, w, b))),
     "uphill"),
    (lambda x, y, w, b, lr: tuple(p - g for p, g in zip((w, b), bce_gradient(x, y, w, b))),
     "learning rate is missing"),
    (_step_stale, "OLD parameters"),
    (lambda x, y, w, b, lr: (w - lr * bce_gradient(x, y, w, b)[0], b), "bias is not updated"),
]

# ----------------------------------------------------------------------------- MLP


def mlp_backward(params, x, y):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = x @ W1.T + b1
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ W2.T + b2
    A2 = np.maximum(Z2, 0)
    Z3 = A2 @ W3.T + b3
    P = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    N = len(y)
    dZ3 = P.copy()
    dZ3[np.arange(N), y] -= 1
    dZ3 /= N
    dW3, db3 = dZ3.T @ A2, dZ3.sum(axis=0)
    dA2 = dZ3 @ W3
    dZ2 = dA2 * (Z2 > 0)
    dW2, db2 = dZ2.T @ A1, dZ2.sum(axis=0)
    dA1 = dZ2 @ W2
    dZ1 = dA1 * (Z1 > 0)
    dW1, db1 = dZ1.T @ x, dZ1.sum(axis=0)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
            "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def _mlp_changed(change):
    """The solution with one line changed by ``change(grads, locals)``."""
    def backward(params, x, y):
        grads = mlp_backward(params, x, y)
        return change(grads, params, x, y) or grads
    return backward


def _no_mask(params, x, y):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    A1 = np.maximum(x @ W1.T + b1, 0)
    A2 = np.maximum(A1 @ W2.T + b2, 0)
    g = mlp_backward(params, x, y)
    dZ2 = g["dA2"]
    dA1 = dZ2 @ W2
    dZ1 = dA1
    return {**g, "dZ2": dZ2, "dW2": dZ2.T @ A1, "db2": dZ2.sum(0), "dA1": dA1, "dZ1": dZ1,
            "dW1": dZ1.T @ x, "db1": dZ1.sum(0)}


def _missing_mean(params, x, y):
    g = mlp_backward({k: v for k, v in params.items()}, x, y)
    return {k: v * len(y) for k, v in g.items()}


MLP_WRONG = [
    (_no_mask, "ReLU mask is missing"),
    (_missing_mean, "1/N of the mean over the batch is missing"),
    (_mlp_changed(lambda g, p, x, y: g.update(dW3=g["dW3"].T)), "transposed"),
    (_mlp_changed(lambda g, p, x, y: g.update(db2=g["dZ2"])), "SUM over the batch axis"),
]

# ----------------------------------------------------------------------------- cost


def backprop_cost(sizes, batch):
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    forward_macs = batch * sum(products)
    backward_macs = 2 * forward_macs - batch * products[0]
    linear_inputs = 8 * batch * sum(sizes[:-1])
    relu_masks = 1 * batch * sum(sizes[1:-1])
    loss_cache = 8 * batch * sizes[-1] + 8 * batch
    return {"forward_macs": forward_macs, "backward_macs": backward_macs,
            "bytes_kept": linear_inputs + relu_masks + loss_cache}


def _cost_changed(**changes):
    def predict(sizes, batch):
        result = backprop_cost(sizes, batch)
        return {k: changes[k](sizes, batch, v) if k in changes else v for k, v in result.items()}
    return predict


COST_WRONG = [
    (_cost_changed(backward_macs=lambda s, b, v: v + b * s[0] * s[1]), "one product fewer"),
    (lambda sizes, batch: backprop_cost(sizes, 1), "for one example"),
    (_cost_changed(bytes_kept=lambda s, b, v: v + 7 * b * sum(s[1:-1])), "one byte per element"),
    (_cost_changed(bytes_kept=lambda s, b, v: v - 8 * b * s[0]), "keeps its input too"),
]

# ----------------------------------------------------------------------------- chain rule: finite differences


def central_differences(f, x, eps):
    """Central differences for every element of x, which must be left as it was."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


def _one_sided(f, x, eps):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[index] += eps
        grad[index] = (f(bumped) - f(x)) / eps
    return grad


def _never_restored(f, x, eps):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += eps
        f_plus = f(x)
        x[index] -= 2 * eps
        grad[index] = (f_plus - f(x)) / (2 * eps)
    return grad


CENTRAL_WRONG = [
    (_one_sided, "one-sided"),
    (lambda f, x, eps: 2 * central_differences(f, x, eps), "divide by 2 * eps"),
    (_never_restored, "put back"),
]

# ----------------------------------------------------------------------------- meet the data


def prepare_images(images):
    """uint8 images (N, 28, 28) -> float32 (N, 784) in [0, 1]."""
    ### BEGIN SOLUTION
    return images.reshape(len(images), -1).astype(np.float32) / 255
    ### END SOLUTION


def one_hot(labels, num_classes):
    """Integer labels (N,) -> (N, num_classes) with a 1 in column labels[i] of row i."""
    ### BEGIN SOLUTION
    targets = np.zeros((len(labels), num_classes))
    targets[np.arange(len(labels)), labels] = 1.0
    return targets
    ### END SOLUTION


IMAGES_WRONG = [
    (lambda images: images.reshape(len(images), -1).astype(np.float32), "divide by 255"),
    (lambda images: (images.reshape(len(images), -1) // 255).astype(np.float32), "divide with / 255, which gives float64"),
    (lambda images: images.reshape(len(images), -1).astype(np.float32) / 256, "divide by 255"),
    (lambda images: images.reshape(len(images), -1) / 255, "float64"),
    (lambda images: images.reshape(-1, len(images)).astype(np.float32) / 255, "one ROW"),
]

ONE_HOT_WRONG = [
    (lambda labels, c: np.eye(c)[labels].T, "transpose"),
    (lambda labels, c: np.eye(c)[(labels + 1) % c], "wrong column"),
    (lambda labels, c: 1 - np.eye(c)[labels], "swapped"),
]

# ----------------------------------------------------------------------------- cost: finite differences


def finite_difference_cost(sizes, batch):
    """Parameters, forward passes and multiply-adds of a gradient by central differences."""
    ### BEGIN SOLUTION
    parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    forward_macs = batch * sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return {"parameters": parameters, "forward_passes": 2 * parameters,
            "macs": 2 * parameters * forward_macs}
    ### END SOLUTION


def _fd_changed(**changes):
    def predict(sizes, batch):
        result = finite_difference_cost(sizes, batch)
        for key, change in changes.items():
            result[key] = change(sizes, batch, result[key])
        result["macs"] = result["forward_passes"] * batch * sum(
            i * o for i, o in zip(sizes[:-1], sizes[1:])) if "macs" not in changes else result["macs"]
        return result
    return predict


def _no_biases(sizes, batch):
    weights = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    forward = batch * weights
    return {"parameters": weights, "forward_passes": 2 * weights, "macs": 2 * weights * forward}


FD_COST_WRONG = [
    (_no_biases, "biases are parameters too"),
    (_fd_changed(forward_passes=lambda s, b, v: v // 2 + 1), "one-sided"),
    (_fd_changed(macs=lambda s, b, v: v // b), "batch size B"),
]

# ----------------------------------------------------------------------------- the table

EXERCISES = {
    # checker name: (solution, wrong answers with hint fragments)
    "tinynet_backward": (tinynet_backward, TINYNET_WRONG),
    "linear_backward": (linear_backward, LINEAR_WRONG),
    "sigmoid_backward": (sigmoid_backward, SIGMOID_WRONG),
    "softmax_cross_entropy_backward": (softmax_cross_entropy_backward, SOFTMAX_WRONG),
    "grad_norm": (grad_norm, GRAD_NORM_WRONG),
    "clip_grad_norm": (clip_grad_norm, CLIP_WRONG),
    "mul_backward": (mul_backward, MUL_WRONG),
    "sum_backward": (sum_backward, SUM_WRONG),
    "tensor_sqrt": (tensor_sqrt, SQRT_WRONG),
    "topological_order": (topological_order, TOPO_WRONG),
    "bce_gradient": (bce_gradient, BCE_WRONG),
    "logistic_step": (logistic_step, STEP_WRONG),
    "mlp_backward": (mlp_backward, MLP_WRONG),
    "backprop_cost": (backprop_cost, COST_WRONG),
    "central_differences": (central_differences, CENTRAL_WRONG),
    "prepare_images": (prepare_images, IMAGES_WRONG),
    "one_hot": (one_hot, ONE_HOT_WRONG),
    "finite_difference_cost": (finite_difference_cost, FD_COST_WRONG),
}
