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
    (_tinynet_wrong(sign=-1.0), "(p - t) vs (t - p)"),
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
    (lambda z, y: _softmax(z) / len(y), "target's part is missing"),
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
    (_sqrt_with(lambda g, x, s: g * 0.5 / s, attach=False), "set no backward_fn"),
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


def standardise(x_fit, x_other):
    """Each pixel minus its x_fit mean, over its x_fit std (1 where that std is 0)."""
    ### BEGIN SOLUTION
    mean = x_fit.mean(axis=0)
    std = x_fit.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_fit - mean) / std, (x_other - mean) / std
    ### END SOLUTION


def _standardise_each_own(x_fit, x_other):
    out = []
    for x in (x_fit, x_other):
        std = x.std(axis=0)
        out.append((x - x.mean(axis=0)) / np.where(std > 0, std, 1.0))
    return tuple(out)


def _standardise_pooled(x_fit, x_other):
    both = np.vstack([x_fit, x_other])
    std = both.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_fit - both.mean(axis=0)) / std, (x_other - both.mean(axis=0)) / std


STANDARDISE_WRONG = [
    (_standardise_each_own, "ITS OWN mean"),
    (_standardise_pooled, "both splits together"),
    (lambda f, o: ((f - f.mean()) / f.std(), (o - f.mean()) / f.std()), "each PIXEL"),
    (lambda f, o: ((f - f.mean(0)) / f.std(0), (o - f.mean(0)) / f.std(0)), "spread 0"),
    (lambda f, o: tuple((x - f.mean(0)) / np.where(f.std(0, ddof=1) > 0, f.std(0, ddof=1), 1)
                        for x in (f, o)), "ddof=1"),
    (lambda f, o: (f - f.mean(0), o - f.mean(0)), "nothing is divided"),
    (lambda f, o: tuple((x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
                        for x in (f, o)), "each IMAGE"),
]


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
    "standardise": (standardise, STANDARDISE_WRONG),
    "finite_difference_cost": (finite_difference_cost, FD_COST_WRONG),
}

# ============================================================================= second edition
# More wrong answers per exercise, of the kinds the second edition's checks must split: near
# misses that a single fixed input let through (a batch size written in, no max subtracted,
# sorted positive axes only), inputs changed in place, float32 where the chapter is float64,
# and answers that call the library's own implementation. Each with a fragment of its hint.
# Then valid alternatives (einsum, loops, other formulas) that must pass.

import math  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from backprop import manual  # noqa: E402
from backprop import mlp as library_mlp  # noqa: E402
from backprop.autograd import unbroadcast  # noqa: E402
from backprop.gradcheck import numerical_grad  # noqa: E402
from backprop.logistic import LogisticRegression  # noqa: E402
from backprop.optim import SGD, clip_grad_norm_  # noqa: E402

LIBRARY = "calls the library's own"


def _tinynet_typed_in(weights, inputs, targets):
    fixed = tinynet_backward(tinynet.WEIGHTS, tinynet.INPUTS, tinynet.TARGETS)
    return fixed


def _tinynet_library(weights, inputs, targets):
    out = tinynet_backward(weights, inputs, targets)
    out["grads"] = list(tinynet.gradient(weights, inputs, targets))
    return out


TINYNET_WRONG += [
    (_tinynet_wrong(sign=1.0) if False else
     (lambda w, i, t: {k: (2 * v if k != "grads" else [2 * g for g in v])
                       for k, v in tinynet_backward(w, i, t).items()}), "1/2 cancels"),
    (_tinynet_typed_in, "from its arguments"),
    (_tinynet_library, LIBRARY),
]


def _linear_squeezed(x, weight, grad_out):
    return grad_out.T @ x, grad_out.sum(axis=0), np.squeeze(grad_out @ weight)


def _linear_batch_written_in(x, weight, grad_out):
    return grad_out.T @ x, np.ones(5) @ grad_out, grad_out @ weight


def _linear_float32(x, weight, grad_out):
    x, weight, grad_out = (a.astype(np.float32) for a in (x, weight, grad_out))
    return grad_out.T @ x, grad_out.sum(axis=0), grad_out @ weight


def _linear_library(x, weight, grad_out):
    layer = manual.Linear(weight.shape[1], weight.shape[0])
    layer.weight.data = weight
    layer.forward(x)
    grad_x = layer.backward(grad_out)
    return layer.weight.grad, layer.bias.grad, grad_x


def _linear_in_place(x, weight, grad_out):
    grad_out /= 1.0  # "harmless" scaling, done in place
    grad_out[0] += 0.0
    x -= 0.0
    np.multiply(grad_out, 1.0, out=grad_out)
    grad_out[...] = grad_out[::-1][::-1] * 1.0
    x[0, 0] += 1e-3  # the learner "nudges" an input to see what happens, and leaves it
    return grad_out.T @ x, grad_out.sum(axis=0), grad_out @ weight


LINEAR_WRONG += [
    (_linear_squeezed, "the shape is not"),
    (_linear_batch_written_in, "batch 1"),
    (_linear_float32, "float64"),
    (_linear_library, LIBRARY),
    (_linear_in_place, "in place"),
    (lambda x, w, g: (g.T @ x, g.sum(axis=1), g @ w), "axis=0"),
]

SIGMOID_WRONG += [
    (lambda out, g: g * out * (1 + out), "sign inside the derivative"),
    (lambda out, g: g * (1 - out**2), "tanh"),
    (lambda out, g: np.multiply(g, out * (1 - out), out=g), "in place"),
    (lambda out, g: _sigmoid_library(out, g), LIBRARY),
    (lambda out, g: g * out * (1 - out) + 1e-7, "+ 1e-7"),
]


def _sigmoid_library(out, grad_out):
    layer = manual.Sigmoid()
    layer._out = out
    return layer.backward(grad_out)


def _ce_naive(logits, targets):
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[np.arange(len(targets)), targets] -= 1
    return probs / len(targets)


def _ce_global_max(logits, targets):
    e = np.exp(logits - logits.max())
    probs = e / e.sum(axis=1, keepdims=True)
    probs[np.arange(len(targets)), targets] -= 1
    return probs / len(targets)


def _ce_batch_written_in(logits, targets):
    probs = _softmax(logits)
    probs[np.arange(len(targets)), targets] -= 1
    return probs / 5


def _ce_in_place(logits, targets):
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[np.arange(len(targets)), targets] -= 1
    return probs / len(targets)


def _ce_onehot_from_labels(logits, targets):
    return (_softmax(logits) - np.eye(targets.max() + 1)[targets]) / len(targets)


SOFTMAX_WRONG += [
    (_ce_naive, "subtract each row's maximum"),
    (_ce_global_max, "each ROW's"),
    (_ce_batch_written_in, "written into your code"),
    (_ce_in_place, "in place"),
    (_ce_onehot_from_labels, "logits.shape[1]"),
    (lambda z, y: library_mlp.softmax_cross_entropy(z, y)[1], LIBRARY),
    (lambda z, y: (_softmax(z) - np.eye(z.shape[1])[y - 1]) / len(y), "off by one"),
]


def _norm_three_arrays(grads):
    return np.sqrt(np.sum(grads[0]**2) + np.sum(grads[1]**2) + np.sum(grads[2]**2))


def _norm_library(grads):
    return clip_grad_norm_([SimpleNamespace(grad=g) for g in grads], np.inf)


GRAD_NORM_WRONG += [
    (_norm_three_arrays, "a list of ONE array"),
    (_norm_library, LIBRARY),
    (lambda grads: np.mean([np.linalg.norm(g) for g in grads]), "average"),
    (lambda grads: sum(np.abs(g).sum() for g in grads), "L1 norm"),
]


def _clip_library(grads, max_norm):
    params = [SimpleNamespace(grad=g.copy()) for g in grads]
    clip_grad_norm_(params, max_norm)
    return [p.grad for p in params]


def _clip_three(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    factor = min(1.0, max_norm / norm)
    return [grads[0] * factor, grads[1] * factor, grads[2] * factor]


CLIP_WRONG += [
    (_clip_library, LIBRARY),
    (_clip_three, "ONE array"),
    (lambda grads, m: grads, "come back unchanged"),
]


def _unbroadcast_no_keepdims(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.squeeze() if grad.ndim > 1 else grad


def _mul_in_place(a, b, grad):
    grad_a = _unbroadcast(grad * b, a.shape)
    grad *= a
    return grad_a, _unbroadcast(grad, b.shape)


def _mul_library(a, b, grad):
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (ta * tb).backward(grad)
    return ta.grad, tb.grad


MUL_WRONG += [
    (_mul_in_place, "in place"),
    (_mul_library, LIBRARY),
    (lambda a, b, g: (_unbroadcast_no_keepdims(g * b, a.shape),
                      _unbroadcast_no_keepdims(g * a, b.shape)), "the shape is not"),
    (lambda a, b, g: ((g * b).sum(axis=0) if g.shape != a.shape else g * b,
                      (g * a).sum(axis=0) if g.shape != b.shape else g * a), "the shape of the thing"),
]


def _sum_given_order(x, axis, keepdims, grad):
    if axis is not None and not keepdims:
        for a in (axis if isinstance(axis, tuple) else (axis,)):
            grad = np.expand_dims(grad, a)
    return np.broadcast_to(grad, x.shape)


def _sum_positive_only(x, axis, keepdims, grad):
    axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    shape = [1 if i in axes else n for i, n in enumerate(x.shape)]
    return np.broadcast_to(grad.reshape(shape), x.shape)


def _sum_library(x, axis, keepdims, grad):
    t = Tensor(x, requires_grad=True)
    t.sum(axis=axis, keepdims=keepdims).backward(grad)
    return t.grad


SUM_WRONG += [
    (_sum_given_order, "increasing order"),
    (_sum_positive_only, "negative axis"),
    (_sum_library, LIBRARY),
]

SQRT_WRONG += [
    (lambda x: x ** 0.5, LIBRARY),
    (lambda x: x.sqrt(), LIBRARY),
]


def _topo_library(root):
    from backprop.autograd import nodes
    return nodes(root)[::-1]


TOPO_WRONG += [
    (_topo_library, LIBRARY),
    (lambda root: [root, *root.inputs], "leaves out"),
]


def _bce_batch_written_in(x, y, w, b):
    p = _sigmoid(x @ w + b)
    return x.T @ (p - y) / 6, np.sum(p - y) / 6


def _bce_float32(x, y, w, b):
    x, y, w = (a.astype(np.float32) for a in (x, y, w))
    p = 1 / (1 + np.exp(-(x @ w + np.float32(b))))
    return x.T @ (p - y) / len(y), np.mean(p - y)


def _bce_library(x, y, w, b):
    model = LogisticRegression(len(w))
    model.weight.data, model.bias.data = w.copy(), np.array(b)
    model.backward(x, y)
    return model.weight.grad, model.bias.grad


BCE_WRONG += [
    (_bce_batch_written_in, "written into your code"),
    (_bce_float32, "float64"),
    (_bce_library, LIBRARY),
    (lambda x, y, w, b: (x.T @ ((_sigmoid(x @ w + b) - y) * _sigmoid(x @ w + b)
                                * (1 - _sigmoid(x @ w + b))) / len(y),
                         np.mean((_sigmoid(x @ w + b) - y) * _sigmoid(x @ w + b)
                                 * (1 - _sigmoid(x @ w + b)))), "cancels"),
]


def _step_in_place(x, y, w, b, lr):
    grad_w, grad_b = bce_gradient(x, y, w, b)
    w -= lr * grad_w
    return w, b - lr * grad_b


def _step_library(x, y, w, b, lr):
    model = LogisticRegression(len(w))
    model.weight.data, model.bias.data = w.copy(), np.array(float(b))
    model.backward(x, y)
    SGD(model.parameters(), lr=lr).step()
    return model.weight.data, model.bias.data


STEP_WRONG += [
    (_step_in_place, "in place"),
    (_step_library, LIBRARY),
    (lambda x, y, w, b, lr: bce_gradient(x, y, w, b), "the gradient itself"),
    (lambda x, y, w, b, lr: (w - lr * x.T @ (_sigmoid(x @ w + b) - y),
                             b - lr * np.sum(_sigmoid(x @ w + b) - y)), "summed"),
]


def _mlp_forward_changed(biases=True, shift=0, batch=None, onehot_width=None):
    def backward(params, x, y):
        W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        Z1 = x @ W1.T + (b1 if biases else 0)
        A1 = np.maximum(Z1, 0)
        Z2 = A1 @ W2.T + (b2 if biases else 0)
        A2 = np.maximum(Z2, 0)
        Z3 = A2 @ W3.T + (b3 if biases else 0)
        P = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        N = batch or len(y)
        width = onehot_width(y) if onehot_width else P.shape[1]
        dZ3 = (P - np.eye(width)[y + shift]) / N
        dW3, db3, dA2 = dZ3.T @ A2, dZ3.sum(axis=0), dZ3 @ W3
        dZ2 = dA2 * (Z2 > 0)
        dW2, db2, dA1 = dZ2.T @ A1, dZ2.sum(axis=0), dZ2 @ W2
        dZ1 = dA1 * (Z1 > 0)
        dW1, db1 = dZ1.T @ x, dZ1.sum(axis=0)
        return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
                "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}
    return backward


def _mlp_library(params, x, y):
    layers = []
    for k in (1, 2, 3):
        out_f, in_f = params[f"W{k}"].shape
        linear = manual.Linear(in_f, out_f)
        linear.weight.data, linear.bias.data = params[f"W{k}"], params[f"b{k}"]
        layers += [linear, manual.ReLU()] if k < 3 else [linear]
    net, loss = manual.Sequential(*layers), manual.SoftmaxCrossEntropy()
    loss.forward(net.forward(x), y)
    net.backward(loss.backward())
    return mlp_backward(params, x, y)


MLP_WRONG += [
    (_mlp_forward_changed(biases=False), "are the biases added"),
    (_mlp_forward_changed(shift=-1), "off by one"),
    (_mlp_forward_changed(batch=8), "written into your code"),
    (_mlp_forward_changed(onehot_width=lambda y: y.max() + 1), "y.max() + 1"),
    (_mlp_library, LIBRARY),
]


def _cost_library(sizes, batch):
    from backprop.cost import predicted_multiply_adds
    counts = predicted_multiply_adds(sizes, batch)
    return {"forward_macs": counts["forward"], "backward_macs": counts["backward"],
            "bytes_kept": backprop_cost(sizes, batch)["bytes_kept"]}


COST_WRONG += [
    (_cost_library, LIBRARY),
    (_cost_changed(bytes_kept=lambda s, b, v: v - 8 * b), "probabilities and the targets"),
    (_cost_changed(bytes_kept=lambda s, b, v: 8 * sum(i * o + o for i, o in zip(s[:-1], s[1:]))),
     "parameters' size"),
]


def _central_2d_only(f, x, eps):
    grad = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            bumped = x.copy()
            bumped[i, j] += eps
            dipped = x.copy()
            dipped[i, j] -= eps
            grad[i, j] = (f(bumped) - f(dipped)) / (2 * eps)
    return grad


CENTRAL_WRONG += [
    (lambda f, x, eps: numerical_grad(f, x, eps), LIBRARY),
    (_central_2d_only, "two indices"),
    (lambda f, x, eps: np.array([(f(x + eps) - f(x - eps)) / (2 * eps)] * x.size).reshape(
        x.shape), "nudged ALONE"),
]


def _images_in_place(images):
    images /= 255
    return images.reshape(len(images), -1).astype(np.float32)


IMAGES_WRONG += [
    (lambda images: images.reshape(6, 784).astype(np.float32) / 255, "count (6) written in"),
    (_images_in_place, "divide into a new array"),
]

ONE_HOT_WRONG += [
    (lambda labels, c: np.eye(c)[labels - 1], "to the LEFT"),
    (lambda labels, c: np.eye(labels.max() + 1)[labels], "largest label + 1"),
    (lambda labels, c: np.eye(c)[labels + 1], "label k goes in column k"),
    (lambda labels, c: np.eye(10)[labels], "read from its arguments"),
]

FD_COST_WRONG += [
    (_fd_changed(forward_passes=lambda s, b, v: v // 2), "not P"),
    (_fd_changed(macs=lambda s, b, v: 2 * v), "forward passes only"),
    (lambda sizes, batch: {**finite_difference_cost(sizes, batch),
                           "parameters": sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))},
     "biases are parameters too"),
]

# ----------------------------------------------------------------------------- build the core


class Value:
    """Chapter 4's reference solution: a scalar Value, micrograd style."""

    ### BEGIN SOLUTION
    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
    ### END SOLUTION


def _value_with(**changes):
    """The reference Value with some methods replaced, in a class of its own whose operations
    build values of that same class: what a learner's slip looks like."""
    namespace = {k: v for k, v in vars(Value).items() if k not in ("__dict__", "__weakref__")}

    def wrap(self, other):
        return other if isinstance(other, cls) else cls(other)

    def __add__(self, other):
        other = wrap(self, other)
        out = cls(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = wrap(self, other)
        out = cls(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = cls(t, (self,))

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    namespace.update(__add__=__add__, __mul__=__mul__, tanh=tanh)
    namespace.update(changes)
    namespace = {k: v for k, v in namespace.items() if v is not None}
    cls = type("Value", (), namespace)
    return cls


def _mul_assigning(self, other):
    other = other if isinstance(other, type(self)) else type(self)(other)
    out = type(self)(self.data * other.data, (self, other))

    def _backward():
        self.grad = other.data * out.grad
        other.grad = self.data * out.grad

    out._backward = _backward
    return out


def _mul_own_factor(self, other):
    other = other if isinstance(other, type(self)) else type(self)(other)
    out = type(self)(self.data * other.data, (self, other))

    def _backward():
        self.grad += self.data * out.grad
        other.grad += other.data * out.grad

    out._backward = _backward
    return out


def _tanh_with(local):
    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,))

        def _backward():
            self.grad += local(t, self.data) * out.grad

        out._backward = _backward
        return out
    return tanh


def _backward_unseeded(self):
    order, visited, stack = [], set(), [(self, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((c, False) for c in node._prev)
    for node in reversed(order):
        node._backward()


def _backward_breadth_first(self):
    self.grad = 1.0
    queue, seen = [self], {self}
    while queue:
        node = queue.pop(0)
        node._backward()
        for child in node._prev:
            if child not in seen:
                seen.add(child)
                queue.append(child)


def _backward_no_visited(self):
    order, stack = [], [(self, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in node._prev)
    self.grad = 1.0
    for node in reversed(order):
        node._backward()


def _add_unwrapped(self, other):
    out = type(self)(self.data + other.data, (self, other))

    def _backward():
        self.grad += out.grad
        other.grad += out.grad

    out._backward = _backward
    return out


class _TensorValue:
    """A Value that hands the work to the library's Tensor: not building the core."""

    def __init__(self, data):
        self.t = data if isinstance(data, Tensor) else Tensor(float(data), requires_grad=True)

    data = property(lambda self: float(self.t.data))
    grad = property(lambda self: 0.0 if self.t.grad is None else float(self.t.grad))

    def __add__(self, other):
        return _TensorValue(self.t + (other.t if isinstance(other, _TensorValue) else other))

    __radd__ = __add__

    def __mul__(self, other):
        return _TensorValue(self.t * (other.t if isinstance(other, _TensorValue) else other))

    __rmul__ = __mul__

    def tanh(self):
        return _TensorValue(self.t.tanh())

    def backward(self):
        self.t.backward()


VALUE_WRONG = [
    (_value_with(__mul__=_mul_assigning), "+="),
    (_value_with(__mul__=_mul_own_factor), "OTHER factor"),
    (_value_with(tanh=_tanh_with(lambda t, x: 1 - t)), "missing a square"),
    (_value_with(tanh=_tanh_with(lambda t, x: 1 - x * x)), "the OUTPUT"),
    (_value_with(tanh=_tanh_with(lambda t, x: t * (1 - t))), "sigmoid"),
    (_value_with(backward=_backward_unseeded), "seed"),
    (_value_with(backward=_backward_breadth_first), "REVERSE topological order"),
    (_value_with(backward=_backward_no_visited), "visited"),
    (_value_with(__radd__=None, __rmul__=None), "__rmul__"),
    (_value_with(__add__=_add_unwrapped), "wrap it first"),
    (_TensorValue, LIBRARY),
]

# ----------------------------------------------------------------------------- diagnose a run


def diagnose_run(record):
    """The cause of a failing run: "exploding", "steps too large", "saddle" or "healthy"."""
    ### BEGIN SOLUTION
    if np.max(record["largest_parameter"]) > 1e3:
        return "exploding"
    first = np.median(record["first_layer_grad_norm"]) / np.median(record["grad_norm"])
    if first < 0.1:  # the first layer gets (almost) no gradient
        saturated = np.median(record["saturated_share"]) > 0.5
        return "steps too large" if saturated else "saddle"
    if record["val_mse"][-1] < 0.5 * record["constant_loss"]:
        return "healthy"
    return "steps too large"
    ### END SOLUTION


def _diagnose_loss_only(record):
    flat = record["val_mse"][-1] > 0.9 * record["val_mse"][0]
    return "saddle" if flat else "healthy"


def _diagnose_saturation_first(record):
    if np.nanmax(record["saturated_share"]) > 0.5:
        return "steps too large"
    if np.max(record["largest_parameter"]) > 1e3:
        return "exploding"
    return "healthy" if record["val_mse"][-1] < 0.5 * record["constant_loss"] else "saddle"


def _diagnose_fixed_threshold(record):
    if np.max(record["largest_parameter"]) > 1e3:
        return "exploding"
    if np.nanmedian(record["saturated_share"]) > 0.5:
        return "steps too large"
    return "healthy" if record["val_mse"][-1] < 60 else "saddle"


def _diagnose_total_norm(record):
    """The rule the chapter refutes: a saddle shows in the TOTAL gradient norm."""
    if np.max(record["largest_parameter"]) > 1e3:
        return "exploding"
    if np.median(record["grad_norm"]) < 1e-3 * np.sqrt(record["constant_loss"]):
        return "saddle"
    if record["val_mse"][-1] < 0.5 * record["constant_loss"]:
        return "healthy"
    return "steps too large"


def _diagnose_gradient_only(record):
    g = record["grad_norm"]
    if g[-1] > 100 * g[0]:
        return "exploding"
    if np.median(g) < 1:
        return "steps too large"
    return "healthy"


def _diagnose_sorts_in_place(record):
    record["grad_norm"].sort()
    return diagnose_run(record)


def _diagnose_by_epoch_20(record):
    if record["val_mse"][20] < 0.5 * record["constant_loss"]:
        return "healthy"
    return diagnose_run(record)


DIAGNOSE_WRONG = [
    (_diagnose_loss_only, "flat"),
    (_diagnose_saturation_first, "size of the parameters"),
    (_diagnose_fixed_threshold, "constant's level"),
    (_diagnose_total_norm, "which the read-out dominates"),
    (_diagnose_gradient_only, "constant's level"),
    (_diagnose_sorts_in_place, "in place"),
    (_diagnose_by_epoch_20, "stopped early"),
    (lambda record: "explosion", "must return one of"),
]

EXERCISES["value_engine"] = (Value, VALUE_WRONG)
EXERCISES["diagnose_run"] = (diagnose_run, DIAGNOSE_WRONG)

from test_exercise_layernorm import WRONG as LAYERNORM_WRONG  # noqa: E402
from test_exercise_layernorm import layernorm_backward  # noqa: E402

EXERCISES["layernorm_backward"] = (layernorm_backward, LAYERNORM_WRONG)

# ----------------------------------------------------------------------------- Adam (chapter 8)


def adam_update(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_variant(*, corrected=True, t_shift=0, eps_inside=False, square=True, weight=True,
                  sign=-1.0, return_hats=False):
    def update(theta, g, m, v, t, lr):
        m = 0.9 * m + (0.1 if weight else 1.0) * g
        v = 0.999 * v + (0.001 if weight else 1.0) * (g * g if square else np.abs(g))
        s = t + t_shift
        m_hat = m / (1 - 0.9**s) if corrected else m
        v_hat = v / (1 - 0.999**s) if corrected else v
        denominator = np.sqrt(v_hat + 1e-8) if eps_inside else np.sqrt(v_hat) + 1e-8
        new_theta = theta + sign * lr * m_hat / denominator
        return (new_theta, m_hat, v_hat) if return_hats else (new_theta, m, v)
    return update


def _adam_in_place(theta, g, m, v, t, lr):
    m *= 0.9
    m += 0.1 * g
    v *= 0.999
    v += 0.001 * g * g
    return theta - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8), m, v


def _adam_library(theta, g, m, v, t, lr):
    from backprop.autograd import Tensor
    from backprop.optim import Adam

    param = Tensor(theta.copy(), requires_grad=True)
    param.grad = g
    adam = Adam([param], lr=lr)
    adam.steps[0], adam.first_moments[0], adam.second_moments[0] = t - 1, m.copy(), v.copy()
    adam.step()
    return param.data, adam.first_moments[0], adam.second_moments[0]


def _adam_fixed_lr(theta, g, m, v, t, lr):
    return adam_update(theta, g, m, v, t, 0.01)


def _adam_efficient(*, eps_inside=False, corrected=True, t_shift=0):
    """Kingma & Ba's "efficient" form: alpha_t = lr sqrt(1 - b2^t) / (1 - b1^t), then
    theta - alpha_t m / (sqrt(v) + eps); with one mistake when asked."""
    def update(theta, g, m, v, t, lr):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        s = t + t_shift
        alpha = lr * np.sqrt(1 - 0.999**s) / (1 - 0.9**s) if corrected else lr
        denominator = np.sqrt(v + 1e-8) if eps_inside else np.sqrt(v) + 1e-8
        return theta - alpha * m / denominator, m, v
    return update


def _adam_corrections(m_hat, root_v_hat):
    """Adam with the averages right and the step built from them wrongly: m_hat(m, c1)
    and root_v_hat(v, c2) with c = 1 - beta^t (a learner's mistakes from a trial)."""
    def update(theta, g, m, v, t, lr):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        return theta - lr * m_hat(m, c1) / (root_v_hat(v, c2) + 1e-8), m, v
    return update


def _adam_linear_t(theta, g, m, v, t, lr):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    with np.errstate(invalid="ignore"):
        root = np.sqrt(v / (1 - 0.999 * t))
    return theta - lr * (m / (1 - 0.9 * t)) / (root + 1e-8), m, v


ADAM_WRONG = [
    (_adam_variant(corrected=False), "no bias correction"),
    (_adam_variant(t_shift=1), "off by one"),
    (_adam_variant(t_shift=-1), "off by one"),
    (_adam_variant(eps_inside=True), "outside the square root"),
    (_adam_variant(square=False), "SQUARED gradient"),
    (_adam_variant(weight=False), "weight 1 - beta"),
    (_adam_variant(sign=1.0), "uphill"),
    (_adam_variant(return_hats=True), "bias-corrected m_hat"),
    (_adam_in_place, "in place"),
    (_adam_library, LIBRARY),
    (_adam_fixed_lr, "another learning rate"),
    (_adam_corrections(lambda m, c1: m * c1, lambda v, c2: np.sqrt(v * c2)), "DIVIDE"),
    (_adam_corrections(lambda m, c1: m / c1, lambda v, c2: np.sqrt(v) / c2),
     "outside the square root: v_hat"),
    (_adam_corrections(lambda m, c1: m / c1 / c1, lambda v, c2: np.sqrt(v / c2)),
     "corrected twice"),
    (_adam_linear_t, "beta * t"),
]
EXERCISES["adam_update"] = (adam_update, ADAM_WRONG)

# ----------------------------------------------------------------------------- valid alternatives


def _tinynet_matrices(weights, inputs, targets):
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    W1, W2 = np.reshape(weights[:4], (2, 2)), np.reshape(weights[4:], (2, 2))
    a_h = sig(W1 @ inputs)
    a_o = sig(W2 @ a_h)
    d_o = (a_o - targets) * a_o * (1 - a_o)
    d_h = (W2.T @ d_o) * a_h * (1 - a_h)
    grads = list(np.outer(d_h, inputs).ravel()) + list(np.outer(d_o, a_h).ravel())
    return {"delta_o1": d_o[0], "delta_o2": d_o[1], "delta_h1": d_h[0], "delta_h2": d_h[1],
            "grads": grads}


def _linear_loops(x, weight, grad_out):
    batch, fan_in = x.shape
    fan_out = weight.shape[0]
    dW, db, dX = np.zeros((fan_out, fan_in)), np.zeros(fan_out), np.zeros((batch, fan_in))
    for n in range(batch):
        for o in range(fan_out):
            db[o] += grad_out[n, o]
            for i in range(fan_in):
                dW[o, i] += grad_out[n, o] * x[n, i]
                dX[n, i] += grad_out[n, o] * weight[o, i]
    return dW, db, dX


def _ce_log_softmax(logits, targets):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.zeros_like(logits)
    onehot[np.arange(len(targets)), targets] = 1
    return (np.exp(log_p) - onehot) / logits.shape[0]


def _ce_rows_loop(logits, targets):
    grad = np.empty_like(logits)
    for i, (row, t) in enumerate(zip(logits, targets)):
        e = np.exp(row - row.max())
        grad[i] = e / e.sum()
        grad[i, t] -= 1
    return grad / len(targets)


def _ce_habit(logits, targets):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / (e.sum(axis=1, keepdims=True) + 1e-7)
    probs[np.arange(len(targets)), targets] -= 1
    return probs / len(targets)


def _clip_in_place(grads, max_norm):
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / (norm + 1e-6)
    return grads


def _mul_axes(a, b, grad):
    def down(g, shape):
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                          if n == 1 and g.shape[lead + i] != 1)
        return g.sum(axis=axes).reshape(shape)
    return down(grad * b, a.shape), down(grad * a, b.shape)


def _sum_reshape(x, axis, keepdims, grad):
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis) % x.ndim
    shape = [1 if i in set(int(a) for a in axes) else n for i, n in enumerate(x.shape)]
    return np.reshape(grad, shape) * np.ones_like(x)


def _sum_sorted_positive(x, axis, keepdims, grad):
    if axis is not None and not keepdims:
        for a in sorted(a % x.ndim for a in np.atleast_1d(axis)):
            grad = np.expand_dims(grad, int(a))
    return np.broadcast_to(grad, x.shape).copy()


def _topo_recursive_small_ok(root):
    return topological_order(root)


def _bce_einsum(x, y, w, b):
    z = x @ w + b
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.einsum("ni,n->i", x, p - y) / len(y), float(np.mean(p - y))


def _mlp_einsum(params, x, y):
    g = mlp_backward(params, x, y)
    W3 = params["W3"]
    g["dA2"] = np.einsum("no,oh->nh", g["dZ3"], W3)
    g["dW2"] = np.einsum("nh,ni->hi", g["dZ2"], np.maximum(x @ params["W1"].T + params["b1"], 0))
    return g


def _mlp_float32(params, x, y):
    return mlp_backward({k: v.astype(np.float32) for k, v in params.items()},
                        x.astype(np.float32), y)


def _central_flat(f, x, eps):
    x = np.array(x, dtype=np.float64)
    flat, grad = x.reshape(-1), np.zeros(x.size)
    for i in range(x.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f(x)
        flat[i] = keep - eps
        down = f(x)
        flat[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad.reshape(x.shape)


def _value_recursive():
    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
    return _value_with(backward=backward)


ALTERNATIVES = {
    "tinynet_backward": [_tinynet_matrices],
    "linear_backward": [
        _linear_loops,
        lambda x, w, g: (np.einsum("no,ni->oi", g, x), np.einsum("no->o", g),
                         np.einsum("no,oi->ni", g, w)),
        lambda x, w, g: (np.dot(g.T, x), np.add.reduce(g, axis=0), np.dot(g, w)),
    ],
    "sigmoid_backward": [lambda out, g: g * out - g * out**2,
                         lambda out, g: g * (out * (1 - out))],
    "softmax_cross_entropy_backward": [
        _ce_log_softmax, _ce_rows_loop, _ce_habit,
        lambda z, y: softmax_cross_entropy_backward(z.astype(np.float32), y),
    ],
    "grad_norm": [lambda gs: np.linalg.norm(np.concatenate([g.ravel() for g in gs])),
                  lambda gs: math.sqrt(sum(float(np.vdot(g, g)) for g in gs)),
                  lambda gs: np.sqrt(sum((g**2).sum() for g in gs)) + 0.0],
    "clip_grad_norm": [lambda gs, m: [g * min(1.0, m / grad_norm(gs)) for g in gs]],
    "mul_backward": [_mul_axes, lambda a, b, g: (unbroadcast(g * b, a.shape),
                                                 unbroadcast(g * a, b.shape))],
    "sum_backward": [_sum_reshape, _sum_sorted_positive,
                     lambda x, axis, keepdims, g: (
                         np.broadcast_to(g if keepdims or axis is None
                                         else np.expand_dims(g, axis), x.shape))],
    "tensor_sqrt": [],
    "topological_order": [_topo_recursive_small_ok],
    "bce_gradient": [_bce_einsum,
                     lambda x, y, w, b: (np.mean((_sigmoid(x @ w + b) - y)[:, None] * x, axis=0),
                                         np.mean(_sigmoid(x @ w + b) - y))],
    "logistic_step": [lambda x, y, w, b, lr: (w - lr * bce_gradient(x, y, w, b)[0],
                                              b - lr * bce_gradient(x, y, w, b)[1])],
    "mlp_backward": [_mlp_einsum, _mlp_float32],
    "backprop_cost": [lambda sizes, batch: {k: int(v)
                                            for k, v in backprop_cost(sizes, batch).items()}],
    "central_differences": [_central_flat],
    "prepare_images": [lambda images: (images.reshape(images.shape[0], 784) / 255.0).astype(
                           np.float32),
                       lambda images: np.float32(1 / 255) * images.reshape(len(images), -1)],
    "one_hot": [lambda labels, c: (labels[:, None] == np.arange(c)).astype(float),
                lambda labels, c: np.eye(c, dtype=np.float32)[labels]],
    "finite_difference_cost": [],
    "value_engine": [_value_recursive()],
    "diagnose_run": [],
    "adam_update": [_adam_efficient(), lambda theta, g, m, v, t, lr: (
        theta - lr * ((m + 0.1 * (g - m)) / (1 - 0.9**t))
        / (np.sqrt((v + 0.001 * (g * g - v)) / (1 - 0.999**t)) + 1e-8),
        m + 0.1 * (g - m), v + 0.001 * (g * g - v))],
}


def _sqrt_by_power_rule(x):
    out = Tensor(np.sqrt(x.data), inputs=(x,), op="sqrt")

    def backward(grad):
        x.add_grad(grad * 0.5 * x.data ** -0.5)

    out.backward_fn = backward
    return out


def _fd_cost_loops(sizes, batch):
    parameters = forward = 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        parameters += n_in * n_out + n_out
        forward += batch * n_in * n_out
    passes = 0
    for _ in range(parameters):
        passes += 2  # f(x + eps) and f(x - eps)
    return {"parameters": parameters, "forward_passes": passes, "macs": passes * forward}


def _diagnose_ratios(record):
    params, grads = record["largest_parameter"], record["grad_norm"]
    if params[-1] / params[0] > 1e3:
        return "exploding"
    plateau = np.mean(record["val_mse"] > 0.9 * record["constant_loss"]) > 0.5
    if not plateau:
        return "healthy"
    ratio = np.median(record["first_layer_grad_norm"] / grads)
    saturated = np.mean(record["saturated_share"] > 0.5) > 0.5
    return "saddle" if ratio < 0.1 and not saturated else "steps too large"


ALTERNATIVES["tensor_sqrt"] = [_sqrt_by_power_rule]
ALTERNATIVES["finite_difference_cost"] = [_fd_cost_loops]
ALTERNATIVES["diagnose_run"] = [_diagnose_ratios]

# ============================================================================= second trial
# Wrong answers from the second, independent learner trial, each with the hint it must get,
# and valid answers that must pass.


def _central_float32_copy(f, x, eps):
    """Right formula, but computed on a float32 copy of x."""
    x = x.astype(np.float32)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _sqrt_assigning_data(x):
    x.data = np.sqrt(x.data)
    out = Tensor(x.data, inputs=(x,), op="sqrt")

    def backward(grad):
        x.add_grad(grad * 0.5 / out.data)

    out.backward_fn = backward
    return out


def _sqrt_into_data(x):
    np.sqrt(x.data, out=x.data)
    out = Tensor(x.data.copy(), inputs=(x,), op="sqrt")

    def backward(grad):
        x.add_grad(grad * 0.5 / out.data)

    out.backward_fn = backward
    return out


def _sqrt_dividing_grad_in_place(x):
    root = np.sqrt(x.data)
    out = Tensor(root, inputs=(x,), op="sqrt")

    def backward(grad):
        grad /= 2 * root
        x.add_grad(grad)

    out.backward_fn = backward
    return out


def _value_grad_none():
    """The reference Value whose gradients start at None instead of 0."""
    from backprop.exercises.value import ReferenceValue

    class Value(ReferenceValue):
        def __init__(self, data, _children=()):
            super().__init__(data, _children)
            self.grad = None

        def __add__(self, other):
            return _rewrap(Value, ReferenceValue.__add__(self, _as(Value, other)))

        def __mul__(self, other):
            return _rewrap(Value, ReferenceValue.__mul__(self, _as(Value, other)))

        def tanh(self):
            return _rewrap(Value, ReferenceValue.tanh(self))

    return Value


def _as(cls, value):
    return value if isinstance(value, cls) else cls(value)


def _rewrap(cls, out):
    """The reference op's result as a ``cls`` (so that its grad starts as ``cls`` says),
    keeping its inputs and backward."""
    backward, inputs = out._backward, out._prev
    new = cls(out.data, inputs)
    closure = backward.__closure__ or ()
    for cell in closure:  # the backward reads `out.grad`: point it at the new node
        if cell.cell_contents is out:
            cell.cell_contents = new
    new._backward = backward
    return new


CENTRAL_WRONG += [(_central_float32_copy, "right up to float32 rounding only, and your grad, 2 x 3")]
SQRT_WRONG += [
    (_sqrt_assigning_data, "the op changed its input's data"),
    (_sqrt_into_data, "the op changed its input's data"),
    (_sqrt_dividing_grad_in_place, "changed the gradient it received"),
]
EXERCISES["value_engine"][1].append((_value_grad_none(), "must start at 0"))


def _central_nudging_an_integer_copy(f, x, eps):
    """Nudges a copy of x of x's own dtype: right for floats, the nudges cut away on integers."""
    point, grad = x.copy(), np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = point[i]
        point[i] = old + eps
        plus = f(point)
        point[i] = old - eps
        minus = f(point)
        point[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _central_integer_result(f, x, eps):
    """Nudges float copies, but keeps the result in np.zeros_like(x): integer for integer x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.astype(float), x.astype(float)
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def _clip_dividing_by_the_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g / norm * min(norm, max_norm) for g in grads]


def _clip_python_division(grads, max_norm):
    norm = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    return [g * min(1.0, max_norm / norm) for g in grads]


def _images_min_max(images):
    x = images.reshape(len(images), -1).astype(np.float32)
    return (x - x.min()) / (x.max() - x.min())


def _images_min_max_per_image(images):
    x = images.reshape(len(images), -1).astype(np.float32)
    low, high = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    return (x - low) / (high - low)


def _images_transposed(images):
    return images.transpose(0, 2, 1).reshape(len(images), -1).astype(np.float32) / 255


def _one_hot_whole_columns(labels, num_classes):
    out = np.zeros((len(labels), num_classes))
    out[:, labels] = 1
    return out


def _one_hot_loop_one_short(labels, num_classes):
    out = np.zeros((len(labels), num_classes))
    for i in range(len(labels) - 1):
        out[i, labels[i]] = 1
    return out


def _one_hot_loop_from_one(labels, num_classes):
    out = np.zeros((len(labels), num_classes))
    for i in range(1, len(labels)):
        out[i, labels[i]] = 1
    return out


CENTRAL_WRONG += [
    (_central_nudging_an_integer_copy, "Nudge a float copy"),
    (_central_integer_result, "integer dtype"),
]
CLIP_WRONG += [
    (_clip_dividing_by_the_norm, "the norm is 0 here"),
    (_clip_python_division, "the norm is 0 here"),
]
IMAGES_WRONG += [
    (_images_min_max, "the scale depends on the batch"),
    (_images_min_max_per_image, "the scale depends on the image"),
    (_images_transposed, "rows and columns were swapped"),
]
ONE_HOT_WRONG += [
    (_one_hot_whole_columns, "EVERY label of the batch"),
    (_one_hot_loop_one_short, "the last example's row holds no 1"),
    (_one_hot_loop_from_one, "the first example's row holds no 1"),
]


def _tinynet_slope_at_net_input(weights, inputs, targets):
    f = tinynet.forward(weights, inputs, targets)
    w1, w2, w3, w4, w5, w6, w7, w8 = weights
    (i1, i2), (t1, t2) = inputs, targets
    d_o1 = (f.a_o1 - t1) * f.o1 * (1 - f.o1)
    d_o2 = (f.a_o2 - t2) * f.o2 * (1 - f.o2)
    d_h1 = (d_o1 * w5 + d_o2 * w7) * f.a_h1 * (1 - f.a_h1)
    d_h2 = (d_o1 * w6 + d_o2 * w8) * f.a_h2 * (1 - f.a_h2)
    return {"delta_o1": d_o1, "delta_o2": d_o2, "delta_h1": d_h1, "delta_h2": d_h2,
            "grads": [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2,
                      d_o1 * f.a_h1, d_o1 * f.a_h2, d_o2 * f.a_h1, d_o2 * f.a_h2]}


def _bce_no_bias(x, y, w, b):
    p = 1 / (1 + np.exp(-(x @ w)))
    return x.T @ (p - y) / len(y), float(np.mean(p - y))


def _mlp_dw2_from_z1(params, x, y):
    grads = mlp_backward(params, x, y)
    z1 = x @ params["W1"].T + params["b1"]
    grads["dW2"] = grads["dZ2"].T @ z1
    return grads


def _cost_mask_after_last_layer(sizes, batch):
    out = dict(backprop_cost(sizes, batch))
    out["bytes_kept"] += batch * sizes[-1]
    return out


def _cost_in_kb(sizes, batch):
    out = dict(backprop_cost(sizes, batch))
    out["bytes_kept"] = out["bytes_kept"] / 1024
    return out


def _topo_recursive_deep_fails(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                if parent.requires_grad:
                    visit(parent)
            order.append(node)

    visit(root)
    return order[::-1]


TINYNET_WRONG += [(_tinynet_slope_at_net_input, "evaluated at another quantity")]
BCE_WRONG += [(_bce_no_bias, "leaves out one of the model's parameters")]
MLP_WRONG += [(_mlp_dw2_from_z1, "INTO layer 2")]
COST_WRONG += [
    (_cost_mask_after_last_layer, "a mask is counted where there is no ReLU"),
    (_cost_in_kb, "asked for in bytes"),
]


# ============================================================================= third trial
# Wrong answers of the kinds the third learner trial found uncaught, silent or misled, each with
# the hint it must now get; the two checks added after it (softmax_backward, momentum_step);
# and valid answers that must pass. The course's in-place rule: an exercise that returns new
# values must leave its inputs alone, clip_grad_norm included (unlike PyTorch's
# clip_grad_norm_).


def _tinynet_writes_weights(weights, inputs, targets):
    grads = tinynet_backward(weights, inputs, targets)
    weights[0] = 0.0
    return grads


def _tinynet_output_slope_in_hidden(weights, inputs, targets):
    f = tinynet.forward(weights, inputs, targets)
    w1, w2, w3, w4, w5, w6, w7, w8 = weights
    (i1, i2), (t1, t2) = inputs, targets
    d_o1 = (f.a_o1 - t1) * f.a_o1 * (1 - f.a_o1)
    d_o2 = (f.a_o2 - t2) * f.a_o2 * (1 - f.a_o2)
    d_h1 = (d_o1 * w5 + d_o2 * w7) * f.a_o1 * (1 - f.a_o1)
    d_h2 = (d_o1 * w6 + d_o2 * w8) * f.a_o2 * (1 - f.a_o2)
    return {"delta_o1": d_o1, "delta_o2": d_o2, "delta_h1": d_h1, "delta_h2": d_h2,
            "grads": [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2,
                      d_o1 * f.a_h1, d_o1 * f.a_h2, d_o2 * f.a_h1, d_o2 * f.a_h2]}


def _central_rows_only(f, x, eps):
    point, grad = np.array(x, dtype=np.float64), np.zeros(np.shape(x))
    for i in range(point.shape[0]):
        original = point[i].copy()
        point[i] = original + eps
        plus = f(point)
        point[i] = original - eps
        grad[i] = (plus - f(point)) / (2 * eps)
        point[i] = original
    return grad


TINYNET_WRONG += [
    (_tinynet_writes_weights, "leave weights, inputs and targets as they were"),
    (_tinynet_output_slope_in_hidden, "the HIDDEN unit's own sigmoid"),
]
CENTRAL_WRONG += [
    (lambda f, x, eps: central_differences(f, x, 1e-2), "not the one passed in"),
    (lambda f, x, eps: central_differences(f, x, 1e-6), "grows like eps^2"),
    (_central_rows_only, "a whole ROW"),
]
GRAD_NORM_WRONG += [
    (lambda grads: np.sqrt(sum(np.linalg.norm(g, 2) ** 2 if g.ndim == 2 else np.sum(g**2)
                               for g in grads)), "SPECTRAL norm"),
    (lambda grads: float(np.sqrt(sum(np.sum(g.astype(np.float32) ** 2) for g in grads))),
     "float32"),
    (lambda grads: np.sqrt(sum(np.sqrt(np.sum(g**2)) for g in grads)), "two square roots"),
    (lambda grads: np.sqrt(np.sum(grads[0] ** 2)), "only the first array"),
    (lambda grads: np.sqrt(sum(np.sum(g) ** 2 for g in grads)), "squares each array's SUM"),
]
CLIP_WRONG += [
    (_clip_in_place, "NEW arrays"),
    (lambda gs, m: [g / _total(gs) if _total(gs) > m else g for g in gs], "max_norm"),
    (lambda gs, m: clip_grad_norm(gs, 1.0), "do not depend on max_norm"),
    (lambda gs, m: [g * (m / _total(gs) ** 2) if _total(gs) > m else g for g in gs],
     "not its square"),
    (lambda gs, m: (clip_grad_norm(gs, m), _total(gs)), "return only the list"),
]


def _diagnose_fixed_epoch(record):
    v = np.asarray(record["val_mse"], dtype=float)
    if len(v) < 2 or np.max(record["largest_parameter"]) > 1e4:
        return "exploding"
    if v[min(10, len(v) - 1)] < 0.5 * record["constant_loss"]:
        return "healthy"
    return "steps too large" if np.max(record["saturated_share"]) > 0.5 else "saddle"


def _diagnose_absolute_first_layer(record):
    v = np.asarray(record["val_mse"], dtype=float)
    if len(v) < 2 or np.max(record["largest_parameter"]) > 1e4:
        return "exploding"
    if np.median(record["first_layer_grad_norm"]) < 0.1:
        return "steps too large" if np.max(record["saturated_share"]) > 0.5 else "saddle"
    return "healthy" if v[-1] < 0.5 * record["constant_loss"] else "saddle"


def _topo_without_leaves(root):
    return [node for node in topological_order(root) if node.inputs]


def _sqrt_float32(x):
    y = np.sqrt(x.data).astype(np.float32)
    out = Tensor(y, inputs=(x,), op="sqrt")

    def backward(grad):
        x.add_grad(grad / (2 * y))

    out.backward_fn = backward
    return out


def _ce_no_keepdims(logits, targets):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1)
    return (s - np.eye(logits.shape[1])[targets]) / len(targets)


def _ce_columns(logits, targets):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True) - np.eye(logits.shape[1])[targets]) / len(targets)


def _ce_true_class_only(logits, targets):
    onehot = np.eye(logits.shape[1])[targets]
    return onehot * (_softmax(logits) - 1) / len(targets)


SOFTMAX_WRONG += [
    (_ce_no_keepdims, "keepdims=True"),
    (_ce_columns, "each COLUMN"),
    (lambda z, y: (_softmax(z) - y[:, None]) / len(y), "as numbers"),
    (_ce_true_class_only, "only the target's column"),
]
LINEAR_WRONG += [
    (lambda x, w, g: (g.T @ x, g[0], g @ w), "first example's gradient only"),
    (lambda x, w, g: (np.outer(g.sum(0), x.sum(0)), g.sum(0), g @ w), "summing grad_out and x"),
]
SIGMOID_WRONG += [
    (lambda out, g: g * (1 - out) ** 2, "(1 - out)² squares"),
    (lambda out, g: g / (out * (1 - out)), "MULTIPLIES"),
]
STEP_WRONG += [
    (lambda x, y, w, b, lr: logistic_step(x, y, w, b, 0.5), "not the one passed in"),
    (lambda x, y, w, b, lr: (logistic_step(x, y, w, b, lr)[0],
                             b - lr * np.mean(bce_gradient(x, y, w, b)[0])), "not of grad_w"),
]
SQRT_WRONG += [(_sqrt_float32, "float32")]
TOPO_WRONG += [(_topo_without_leaves, "the leaves")]
EXERCISES["diagnose_run"][1].extend([
    (_diagnose_fixed_epoch, "fixed epoch"),
    (_diagnose_absolute_first_layer, "fixed number"),
])


# ----------------------------------------------------------------------------- third trial
# Rules that passed the twelve runs of the second edition: absolute thresholds, a fixed epoch.


def _diagnose_trial3(record):
    """The whole function a learner wrote, which passed every run of the second edition."""
    val = list(record["val_mse"])
    if len(val) == 1 or max(record["largest_parameter"]) > 1e5:
        return "exploding"
    if record["saturated_share"][-1] > 0.9:
        return "steps too large"
    if val[10] > 60:
        return "saddle"
    return "healthy"


def _diagnose_one_rule(saddle=None, exploding=None, steps=None):
    """The chapter's rules with one replaced by a learner's near miss."""

    def diagnose(record):
        val, c = np.asarray(record["val_mse"], dtype=float), record["constant_loss"]
        if (exploding(record, val, c) if exploding else
                len(val) == 1 or np.max(record["largest_parameter"]) > 1e3 * np.sqrt(c)):
            return "exploding"
        if (steps(record, val, c) if steps else np.median(record["saturated_share"]) > 0.5):
            return "steps too large"
        if (saddle(record, val, c) if saddle else np.median(record["first_layer_grad_norm"])
                / np.median(record["grad_norm"]) < 0.1):
            return "saddle"
        return "healthy"

    return diagnose


EXERCISES["diagnose_run"][1].extend([
    (_diagnose_trial3, "fixed number (60"),
    (_diagnose_one_rule(saddle=lambda r, v, c: np.sum(v[1:] > 60) >= 5), "fixed number (60"),
    (_diagnose_one_rule(saddle=lambda r, v, c: abs(v[min(10, len(v) - 1)] / c - 1) < 0.1),
     "fixed epoch (epoch 10)"),
    (_diagnose_one_rule(exploding=lambda r, v, c: len(v) == 1 or np.max(r["grad_norm"]) > 1e4),
     "absolute threshold on the gradient"),
    (_diagnose_one_rule(steps=lambda r, v, c: np.any(np.diff(v[1:] / c) > 0.2)),
     "a bouncing loss alone"),
])
ALTERNATIVES["diagnose_run"].append(_diagnose_one_rule())


class _TanhWithoutOutGrad:
    """A whole Value class, right but for tanh's backward, which leaves out out.grad."""

    def __init__(self, data, _children=()):
        self.data, self.grad, self._prev = float(data), 0.0, tuple(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, _TanhWithoutOutGrad) else _TanhWithoutOutGrad(other)
        out = _TanhWithoutOutGrad(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, _TanhWithoutOutGrad) else _TanhWithoutOutGrad(other)
        out = _TanhWithoutOutGrad(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = _TanhWithoutOutGrad(t, (self,))

        def _backward():
            self.grad += 1 - t**2

        out._backward = _backward
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


EXERCISES["value_engine"][1].append((_TanhWithoutOutGrad, "does not multiply it by out.grad"))


# ----------------------------------------------------------------------------- softmax_backward


def softmax_backward(s, grad):
    return s * (grad - np.sum(grad * s, axis=1, keepdims=True))


def _softmax_jacobian_einsum(s, grad):
    jacobian = np.einsum("bi,ij->bij", s, np.eye(s.shape[1])) - np.einsum("bi,bj->bij", s, s)
    return np.einsum("bij,bi->bj", jacobian, grad)


def _softmax_rows(s, grad):
    out = np.empty_like(s)
    for r in range(len(s)):
        out[r] = (np.diag(s[r]) - np.outer(s[r], s[r])) @ grad[r]
    return out


def _softmax_loop_over_rows(s, grad):  # O(n) per row, written as a loop: passes
    out = np.empty_like(s)
    for r in range(len(s)):
        out[r] = s[r] * (grad[r] - grad[r] @ s[r])
    return out


def _softmax_library(s, grad):
    layer = manual.Softmax()
    layer._out = s
    return layer.backward(grad)


SOFTMAX_LAYER_WRONG = [
    (lambda s, g: s * (1 - s) * g, "DIAGONAL"),
    (lambda s, g: s * g, "a term is missing"),
    (lambda s, g: s * (g - np.sum(g * s, axis=0, keepdims=True)), "wrong axis"),
    (lambda s, g: s * (g - np.sum(g * s, axis=1)), "keepdims=True"),
    (lambda s, g: -softmax_backward(s, g), "sign"),
    (lambda s, g: s * (g - np.sum(g, axis=1, keepdims=True)), "WEIGHTED by s"),
    (lambda s, g: s * (g - np.sum(g * s)), "whole batch"),
    (_softmax_library, LIBRARY),
    (_softmax_jacobian_einsum, "O(n^2) Jacobian"),
    (_softmax_rows, "O(n^2) Jacobian"),
]

# ----------------------------------------------------------------------------- momentum_step


def momentum_step(theta, g, buffer, lr, mu):
    buffer = g.copy() if buffer is None else mu * buffer + g
    return theta - lr * buffer, buffer


def _momentum_from_zeros(theta, g, buffer, lr, mu):
    buffer = mu * (np.zeros_like(g) if buffer is None else buffer) + g
    return theta - lr * buffer, buffer


def _momentum_in_place(theta, g, buffer, lr, mu):
    if buffer is None:
        buffer = g.copy()
    else:
        buffer *= mu
        buffer += g
    return theta - lr * buffer, buffer


def _momentum_library(theta, g, buffer, lr, mu):
    param = SimpleNamespace(data=theta.copy(), grad=g.copy())
    sgd = SGD([param], lr=lr, momentum=mu)
    sgd.momentum_buffers[0] = None if buffer is None else buffer.copy()
    sgd.step()
    return param.data, sgd.momentum_buffers[0]


def _momentum_sutskever(theta, g, buffer, lr, mu):
    buffer = mu * (np.zeros_like(g) if buffer is None else buffer) + lr * g
    return theta - buffer, buffer


MOMENTUM_WRONG = [
    (lambda theta, g, b, lr, mu: (
        theta - lr * (mu * (0 if b is None else b) + (1 - mu) * g),
        mu * (0 if b is None else b) + (1 - mu) * g), "1 - mu"),
    (lambda theta, g, b, lr, mu: (theta - lr * g, momentum_step(theta, g, b, lr, mu)[1]),
     "along the gradient g"),
    (lambda theta, g, b, lr, mu: (2 * theta - momentum_step(theta, g, b, lr, mu)[0],
                                  momentum_step(theta, g, b, lr, mu)[1]), "uphill"),
    (lambda theta, g, b, lr, mu: (momentum_step(theta, g, b, lr, mu)[0],
                                  g.copy() if b is None else b.copy()), "not the updated"),
    (_momentum_in_place, "writes into the caller's array"),
    (_momentum_sutskever, "Sutskever"),
    (lambda theta, g, b, lr, mu: (theta - (mu * b + g), mu * b + g), "learning rate is missing"),
    (lambda theta, g, b, lr, mu: (theta - lr * (b + mu * g), b + mu * g), "mu multiplies the old"),
    (_momentum_library, LIBRARY),
    (lambda theta, g, b, lr, mu: (theta + (mu * b - lr * g), mu * b - lr * g), "velocity form"),
    (lambda theta, g, b, lr, mu: (-lr * (mu * b + g), mu * b + g), "that is the step"),
]

EXERCISES["softmax_backward"] = (softmax_backward, SOFTMAX_LAYER_WRONG)
EXERCISES["momentum_step"] = (momentum_step, MOMENTUM_WRONG)
ALTERNATIVES["softmax_backward"] = [_softmax_loop_over_rows]
ALTERNATIVES["momentum_step"] = [_momentum_from_zeros]


def _logistic_step_float32(x, y, w, b, lr):
    """Right, but in float32 while the inputs are float64: fails, as bce_gradient's does."""
    return tuple(np.float32(v) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float32)
                 for v in logistic_step(x.astype(np.float32), y.astype(np.float32),
                                        w.astype(np.float32), np.float32(b), np.float32(lr)))


STEP_WRONG += [(_logistic_step_float32, "this exercise works in float64")]

# ============================================================================= third round
# Wrong answers of the kinds a second learner trial found silent or misleading; each with a
# fragment of its hint.


def _mlp_relu1_forgotten(params, x, y):
    g = mlp_backward(params, x, y)
    dZ1 = g["dA1"]
    return {**g, "dZ1": dZ1, "dW1": dZ1.T @ x, "db1": dZ1.sum(0)}


def _mlp_mask_on_gradient(params, x, y):
    W1, b1, W2 = params["W1"], params["b1"], params["W2"]
    g = mlp_backward(params, x, y)
    A1 = np.maximum(x @ W1.T + b1, 0)
    dZ2 = g["dA2"] * (g["dA2"] > 0)
    dA1 = dZ2 @ W2
    dZ1 = dA1 * (dA1 > 0)
    return {**g, "dZ2": dZ2, "dW2": dZ2.T @ A1, "db2": dZ2.sum(0), "dA1": dA1, "dZ1": dZ1,
            "dW1": dZ1.T @ x, "db1": dZ1.sum(0)}


def _mlp_sigmoid_derivative(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    g = mlp_backward(params, x, y)
    A1 = np.maximum(x @ W1.T + b1, 0)
    A2 = np.maximum(A1 @ W2.T + b2, 0)
    dZ2 = g["dA2"] * A2 * (1 - A2)
    dA1 = dZ2 @ W2
    dZ1 = dA1 * A1 * (1 - A1)
    return {**g, "dZ2": dZ2, "dW2": dZ2.T @ A1, "db2": dZ2.sum(0), "dA1": dA1, "dZ1": dZ1,
            "dW1": dZ1.T @ x, "db1": dZ1.sum(0)}


def _mlp_dw1_from(which):
    def backward(params, x, y):
        g = mlp_backward(params, x, y)
        Z1 = x @ params["W1"].T + params["b1"]
        cached = {"A1": np.maximum(Z1, 0), "Z1": Z1}[which]
        return {**g, "dW1": g["dZ1"].T @ cached}
    return backward


def _mlp_labels_as_targets(params, x, y):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    A1 = np.maximum(x @ W1.T + b1, 0)
    A2 = np.maximum(A1 @ W2.T + b2, 0)
    Z3 = A2 @ W3.T + b3
    P = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ3 = (P - y[:, None]) / len(y)
    return {**mlp_backward(params, x, y), "dZ3": dZ3}


def _mlp_wrong_weights_back(params, x, y):
    g = mlp_backward(params, x, y)
    return {**g, "dA2": g["dZ3"] @ np.roll(params["W3"], 1, axis=0)}


MLP_WRONG += [
    (_mlp_relu1_forgotten, "first hidden layer"),
    (_mlp_mask_on_gradient, "sign of the incoming GRADIENT"),
    (_mlp_sigmoid_derivative, "SIGMOID's derivative"),
    (_mlp_dw1_from("A1"), "input of the FIRST layer"),
    (_mlp_dw1_from("Z1"), "input of the FIRST layer"),
    (_mlp_labels_as_targets, "ONE-HOT row per example"),
    (_mlp_wrong_weights_back, "dA2 is wrong while dZ3 is right"),
]


def _tinynet_inputs_typed_in(weights, inputs, targets):
    return tinynet_backward(weights, np.array([0.05, 0.10]), targets)


def _topo_without_root(root):
    return topological_order(root)[1:]


def _adam_v_from_g(theta, g, m, v, t, lr):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g
    m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + 1e-8), m, v


def _adam_no_root(theta, g, m, v, t, lr):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    return theta - lr * m_hat / (v_hat + 1e-8), m, v


def _adam_betas_swapped(theta, g, m, v, t, lr):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.999**t), v / (1 - 0.9**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + 1e-8), m, v


def _momentum_old_buffer(theta, g, buffer, lr, mu):
    new = g.copy() if buffer is None else mu * buffer + g
    return theta - lr * (np.zeros_like(g) if buffer is None else buffer), new


def _momentum_nesterov(theta, g, buffer, lr, mu):
    new = g.copy() if buffer is None else mu * buffer + g
    return theta - lr * (g + mu * new), new


TINYNET_WRONG += [(_tinynet_inputs_typed_in, "compute everything from its arguments")]
TOPO_WRONG += [(_topo_without_root, "ROOT is missing")]
ONE_HOT_WRONG += [(lambda labels, c: np.eye(c)[labels.astype(float)], "must be an integer"),
                  (lambda labels, c: 0.9 * np.eye(c)[labels] + 0.01, "exactly two values")]
ADAM_WRONG += [(_adam_v_from_g, "SQUARED gradient"), (_adam_no_root, "SQUARE ROOT"),
               (_adam_betas_swapped, "betas are swapped")]
MOMENTUM_WRONG += [(_momentum_old_buffer, "BEFORE this step's gradient"),
                   (_momentum_nesterov, "Nesterov")]
COST_WRONG += [
    (_cost_changed(bytes_kept=lambda s, b, v: v - 8 * b * sum(s[:-1]) + 8 * b * sum(s[1:])),
     "not its output"),
    (_cost_changed(bytes_kept=lambda s, b, v: v - b * sum(s[1:-1])
                   + sum(-(-b * n // 8) for n in s[1:-1])), "not a bit"),
]
FD_COST_WRONG += [
    (lambda sizes, batch: finite_difference_cost(sizes[:-1], batch), "PAIR of consecutive sizes"),
    (_fd_changed(macs=lambda s, b, v: v + b * sum(i * o for i, o in zip(s[1:-1], s[2:]))
                 + b * sum(i * o for i, o in zip(s[:-1], s[1:]))), "forward passes only"),
]

# ============================================================================= fourth round
# The third trial's silent mistakes, and more of our own (a loop that overwrites, float16,
# a standardisation, dL/ds for dL/du, exactly saturated sigmoids); each with a fragment of its
# hint. Then valid answers of other forms that must pass.


def _linear_last_row(x, w, g):
    dW = np.zeros((g.shape[1], x.shape[1]))
    for k in range(len(x)):
        dW = np.outer(g[k], x[k])  # overwrites instead of adding
    return dW, g.sum(axis=0), g @ w


def _sigmoid_via_logit(out, g):
    x = np.log(out) - np.log1p(-out)
    e = np.exp(-x)
    return g * e / (1 + e) ** 2


def _softmax_layer_loop_mean(s, g):
    return s * (g - (g * s).mean(axis=1, keepdims=True))


def _mul_first_slice(a, b, g):
    ga, gb = g * b, g * a
    return np.resize(ga, np.shape(a)), np.resize(gb, np.shape(b))


LINEAR_WRONG += [
    (lambda x, w, g: (np.outer(g[0], x[0]), g.sum(axis=0), g @ w), "first example's contribution"),
    (_linear_last_row, "last example's contribution"),
    (lambda x, w, g: (g.T @ x, g[-1], g @ w), "last example's gradient"),
]
SIGMOID_WRONG += [(_sigmoid_via_logit, "exactly 0.0 or 1.0")]
SOFTMAX_WRONG += [
    (lambda z, y: -np.eye(z.shape[1])[y] / _softmax(z) / len(y), "PROBABILITIES"),
    (lambda z, y: (1 / (1 + np.exp(-z)) - np.eye(z.shape[1])[y]) / len(y), "sigmoid"),
    (lambda z, y: (np.log(_softmax(z)) - np.eye(z.shape[1])[y]) / len(y), "the log"),
]
SOFTMAX_LAYER_WRONG += [
    (lambda s, g: g - np.sum(g * s, axis=1, keepdims=True), "factor s_k in front"),
    (_softmax_layer_loop_mean, "MEAN over the row"),
    (lambda s, g: s * (g + np.sum(g * s, axis=1, keepdims=True)), "sign of the shared term"),
]
GRAD_NORM_WRONG += [(lambda gs: float(np.linalg.norm(np.array(gs))), "different shapes")]
MUL_WRONG += [(_mul_first_slice, "cut or copied")]
IMAGES_WRONG += [
    (lambda images: (images.reshape(len(images), -1) / 255).astype(np.float16), "float16"),
    (lambda images: (lambda f: (f - f.mean()) / f.std())(
        images.reshape(len(images), -1).astype(np.float32)), "standardisation"),
    (lambda images: (lambda f: f - f.mean())(
        images.reshape(len(images), -1).astype(np.float32) / 255), "centred"),
]
BCE_WRONG += [
    (lambda x, y, w, b: (lambda p: (x.T @ (2 * (p - y) * p * (1 - p)) / len(y),
                                    float(np.mean(2 * (p - y) * p * (1 - p)))))(
        _sigmoid(x @ w + b)), "squared error"),
    (lambda x, y, w, b: tuple(-v for v in bce_gradient(x, y, w, b)), "sign is flipped"),
]
STEP_WRONG += [(lambda x, y, w, b, lr: w - lr * bce_gradient(x, y, w, b)[0], "left out")]

ALTERNATIVES["sigmoid_backward"] = ALTERNATIVES.get("sigmoid_backward", []) + [
    # x recovered from out, then the slope from it: odd, but right where out is 0.0 or 1.0
    lambda out, g: (lambda s: g * s * (1 - s))(1 / (1 + np.exp(-np.log(out / (1 - out))))),
    lambda out, g: np.einsum("ij,ij->ij", g, out - out * out),
]
ALTERNATIVES["softmax_cross_entropy_backward"] = ALTERNATIVES.get(
    "softmax_cross_entropy_backward", []) + [
    lambda z, y: np.exp(z - z.max(1, keepdims=True) - np.log(np.exp(
        z - z.max(1, keepdims=True)).sum(1, keepdims=True))) / len(y)
    - np.eye(z.shape[1])[y] / len(y),
]
ALTERNATIVES["prepare_images"] = ALTERNATIVES.get("prepare_images", []) + [
    lambda images: np.stack([im.ravel() for im in images]).astype(np.float32) / np.float32(255),
]

# ============================================================================= fifth round
# A fresh learner trial of chapters 6-10: near misses that passed (a softmax shifted by the
# row's minimum or mean), float32 answers to float64 inputs, and mistakes whose hint was
# missing or misleading; each with a fragment of its hint.


def _softmax_shifted_by(shift):
    def backward(z, y):
        e = np.exp(z - shift(z))
        p = e / e.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        return p / len(y)
    return backward


def _softmax_ce_with_slope(z, y):
    s = _softmax(z)
    return (s - np.eye(z.shape[1])[y]) * s * (1 - s) / len(y)


SOFTMAX_WRONG += [
    (_softmax_shifted_by(lambda z: z.min(axis=1, keepdims=True)), "every exponent <= 0"),
    (_softmax_shifted_by(lambda z: z.mean(axis=1, keepdims=True)), "every exponent <= 0"),
    (_softmax_ce_with_slope, "slope s (1 - s)"),
]


def _adam_weights(m_old=0.9, m_new=0.1, v_old=0.999, v_new=0.001, v_from_m=False):
    def update(theta, g, m, v, t, lr):
        m = m_old * m + m_new * g
        v = v_old * v + v_new * (m**2 if v_from_m else g**2)
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + 1e-8), m, v
    return update


def _adam_v_odd(theta, g, m, v, t, lr):
    """A mistake of no known kind in v, in float64: located, not blamed on float32."""
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * np.abs(m * g)
    m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + 1e-8), m, v


ADAM_WRONG += [
    (_adam_weights(v_from_m=True), "not the square of m"),
    (_adam_weights(m_old=0.999, m_new=0.001, v_old=0.9, v_new=0.1), "betas are swapped in the "
     "running averages"),
    (_adam_weights(m_old=0.1, m_new=0.9, v_old=0.001, v_new=0.999), "beta and 1 - beta are "
     "swapped"),
    (_adam_weights(m_old=0.1, m_new=0.9), "swapped in m's average"),
    (_adam_weights(v_old=0.001, v_new=0.999), "swapped in v's average"),
    (_adam_weights(v_new=0.1), "beta1's weight"),
    (_adam_v_odd, "m is right and v is not"),
]


def _momentum_reset(theta, g, buffer, lr, mu):
    m2 = g.copy()  # the buffer started afresh at every call
    return theta - lr * m2, m2


MOMENTUM_WRONG += [(_momentum_reset, "drops mu * (old buffer)")]


def _cost_loop_skips_last(sizes, batch):
    forward = backward = 0
    for k in range(len(sizes) - 2):  # one layer short
        forward += batch * sizes[k] * sizes[k + 1]
        backward += 2 * batch * sizes[k] * sizes[k + 1]
    backward -= batch * sizes[0] * sizes[1]
    return {**backprop_cost(sizes, batch), "forward_macs": forward, "backward_macs": backward}


def _fd_from(parameters):
    def predict(sizes, batch):
        p = parameters(sizes, batch)
        forward = batch * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
        return {"parameters": p, "forward_passes": 2 * p, "macs": 2 * p * forward}
    return predict


COST_WRONG += [  # near misses of a count derived, not copied (learner trial, ch10)
    (_cost_changed(backward_macs=lambda s, b, v: b * sum(i * o for i, o in zip(s, s[1:]))),
     "weight gradients G^T X only"),
    (_cost_changed(backward_macs=lambda s, b, v: v - b * sum(i * o for i, o in zip(s, s[1:]))),
     "input gradients G W only"),
    (_cost_changed(backward_macs=lambda s, b, v: v + b * sum(i * o for i, o in zip(s, s[1:]))),
     "includes the forward pass"),
]
COST_WRONG += [
    (_cost_changed(forward_macs=lambda s, b, v: 2 * v, backward_macs=lambda s, b, v: 2 * v),
     "multiply and an add counted"),
    (_cost_changed(forward_macs=lambda s, b, v: v + b * sum(s[1:])), "bias additions"),
    (_cost_changed(bytes_kept=lambda s, b, v: v + 8 * b * s[-1]), "logits are counted"),
    (_cost_changed(bytes_kept=lambda s, b, v: v - 4 * b), "int64"),
    (_cost_loop_skips_last, "stop one layer early"),
]
FD_COST_WRONG += [
    (_fd_changed(macs=lambda s, b, v: v // 2), "ONE nudge per parameter"),
    (_fd_changed(macs=lambda s, b, v: b * sum(i * o for i, o in zip(s[:-1], s[1:]))),
     "cost of ONE forward pass"),
    (_fd_changed(macs=lambda s, b, v: v + (v // (b * sum(i * o for i, o in zip(s[:-1], s[1:]))))
                 * b * sum(s[1:])), "bias additions"),
    (_fd_from(lambda s, b: sum(i * o for i, o in zip(s[:-1], s[1:])) + sum(s)),
     "the input has none"),
    (_fd_from(lambda s, b: b * sum(i * o + o for i, o in zip(s[:-1], s[1:]))),
     "does not depend on the batch"),
]


def _bce_per_probability(x, y, w, b):
    p = _sigmoid(x @ w + b)
    d = (-y / p + (1 - y) / (1 - p)) / len(y)
    return x.T @ d, d.sum()


BCE_WRONG += [
    (_bce_per_probability, "with respect to the PROBABILITY"),
    (lambda x, y, w, b: (x.T @ (_sigmoid(x @ w + b) - y) / x.shape[1],
                         np.mean(_sigmoid(x @ w + b) - y)), "number of FEATURES"),
    (lambda x, y, w, b: (lambda gw: (gw, np.mean(gw)))(
        x.T @ (_sigmoid(x @ w + b) - y) / len(y)), "dz/db = 1"),
]
STEP_WRONG += [(lambda x, y, w, b, lr: tuple(p - g / lr for p, g in zip(
    (w, b), bce_gradient(x, y, w, b))), "DIVIDED by the learning rate")]
MOMENTUM_WRONG += [(lambda theta, g, b, lr, mu: (theta - lr * (mu * b + g), mu * b + 1.3 * g),
                    "the first wrong quantity is the new buffer")]


# ----------------------------------------------------------------------------- third trial: Value


def _mul_no_factor(self, other):
    other = other if isinstance(other, type(self)) else type(self)(other)
    out = type(self)(self.data * other.data, (self, other))

    def _backward():
        self.grad += out.grad
        other.grad += out.grad

    out._backward = _backward
    return out


def _tanh_overflowing(self):
    e = math.exp(2 * self.data)
    t = (e - 1) / (e + 1)
    out = type(self)(t, (self,))

    def _backward():
        self.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out


VALUE_WRONG += [
    (_value_with(tanh=_tanh_with(lambda t, x: 1.0)), "passes out.grad through unchanged"),
    (_value_with(__mul__=_mul_no_factor), "the OTHER factor"),
    (_value_with(tanh=_tanh_overflowing), "overflow"),
]


def _tinynet_one_wrong_input(weights, inputs, targets):
    """dE/dw2 takes i1 where it needs i2: one value off by i1 / i2, no constant factor."""
    out = tinynet_backward(weights, inputs, targets)
    grads = list(out["grads"])
    grads[1] = out["delta_h1"] * inputs[0]
    return dict(out, grads=grads)


TINYNET_WRONG += [(_tinynet_one_wrong_input, "the only value of dE/dw2 that is off")]


# one-hot targets must be floats (the chapter's uint8 warning): right 0s and 1s in other dtypes
ONE_HOT_WRONG += [
    (lambda labels, c: (labels[:, None] == np.arange(c)).astype(int), "stays in integers"),
    (lambda labels, c: labels[:, None] == np.arange(c), "a bool array is not numbers"),
    (lambda labels, c: np.eye(c, dtype=np.uint8)[labels], "wraps around"),
]


# ----------------------------------------------------------------------------- third trial: in place


def _clip_replacing_items(grads, max_norm):
    norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    factor = min(1.0, max_norm / (norm + 1e-6))
    for i, g in enumerate(grads):
        grads[i] = g * factor  # new arrays, but in the caller's list
    return grads


def _sum_setting_shape(x, axis, keepdims, grad):
    if axis is not None and not keepdims:
        shape = list(x.shape)
        for a in sorted(np.atleast_1d(axis) % x.ndim):
            shape[a] = 1
        grad.shape = tuple(shape)  # reshapes the caller's gradient itself
    return np.broadcast_to(grad, x.shape)


CLIP_WRONG += [(_clip_replacing_items, "replaces the items of the caller's list")]
SUM_WRONG += [(_sum_setting_shape, "`grad.shape = ...`")]


# ============================================================================= chapter 4: judge an order
# is_backward_order(order, root): the chapter's solution, valid alternatives, and the near misses
# a learner writes, each with a fragment of the hint it must get.


def is_backward_order(order, root):
    position = {id(tensor): index for index, tensor in enumerate(order)}
    if len(position) < len(order) or id(root) not in position:
        return False
    reached, stack = {id(root)}, [root]
    while stack:
        tensor = stack.pop()
        for parent in tensor.inputs:
            if position.get(id(parent), -1) < position[id(tensor)]:
                return False
            if id(parent) not in reached:
                reached.add(id(parent))
                stack.append(parent)
    return len(reached) == len(position)


def _order_graph(root):
    """Every tensor reached from root, by a loop with a stack: {id: tensor}."""
    reached, stack = {id(root): root}, [root]
    while stack:
        for parent in stack.pop().inputs:
            if id(parent) not in reached:
                reached[id(parent)] = parent
                stack.append(parent)
    return reached


def _order_by_pairs(order, root):
    """An alternative: the set of tensors, then every (tensor, input) pair."""
    graph = _order_graph(root)
    ids = [id(tensor) for tensor in order]
    if len(set(ids)) != len(ids) or set(ids) != set(graph):
        return False
    place = {i: k for k, i in enumerate(ids)}
    return all(place[i] < place[id(p)] for i, t in graph.items() for p in t.inputs)


def _order_by_seen(order, root):
    """An alternative: walk the order, every input must not have been seen before."""
    graph = _order_graph(root)
    seen = set()
    for tensor in order:
        if id(tensor) in seen or id(tensor) not in graph:
            return False
        if any(id(p) in seen for p in tensor.inputs):
            return False
        seen.add(id(tensor))
    return len(seen) == len(graph)


def _order_duplicates_kept(order, root):
    position = {id(tensor): index for index, tensor in enumerate(order)}
    graph = _order_graph(root)
    return set(position) == set(graph) and all(
        position[i] < position[id(p)] for i, t in graph.items() for p in t.inputs)


def _order_no_completeness(order, root):
    position = {id(tensor): index for index, tensor in enumerate(order)}
    if len(position) < len(order):
        return False
    return all(position[id(t)] < position[id(p)] for t in order for p in t.inputs
               if id(p) in position)


def _order_extra_allowed(order, root):
    position = {id(tensor): index for index, tensor in enumerate(order)}
    if len(position) < len(order):
        return False
    graph = _order_graph(root)
    return set(graph) <= set(position) and all(
        position[i] < position[id(p)] for i, t in graph.items() for p in t.inputs)


def _order_one_fixed(order, root):
    post, visited, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            post.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.inputs)
    return [id(t) for t in order] == [id(t) for t in post[::-1]]


def _order_set_only(order, root):
    ids = [id(tensor) for tensor in order]
    return len(set(ids)) == len(ids) and set(ids) == set(_order_graph(root))


def _order_root_first_only(order, root):
    return bool(order) and order[0] is root and _order_set_only(order, root)


def _order_first_path(order, root):
    """Checks each tensor against the tensor it was first reached from only."""
    position = {id(tensor): index for index, tensor in enumerate(order)}
    if len(position) < len(order) or set(position) != set(_order_graph(root)):
        return False
    seen, queue = {id(root)}, [root]
    while queue:
        tensor = queue.pop(0)
        for parent in tensor.inputs:
            if id(parent) not in seen:
                if position[id(parent)] < position[id(tensor)]:
                    return False
                seen.add(id(parent))
                queue.append(parent)
    return True


def _order_by_values(order, root):
    """Finds tensors with list.count and list.index: == compares values."""
    if any(order.count(t) > 1 for t in order) or root not in order:
        return False
    return all(order.index(t) < order.index(p) for t in order for p in t.inputs
               if p in order)


def _order_recursive(order, root):
    position = {id(tensor): index for index, tensor in enumerate(order)}
    reached = set()

    def visit(tensor):
        reached.add(id(tensor))
        for parent in tensor.inputs:
            if id(parent) not in reached:
                visit(parent)

    visit(root)
    return (len(position) == len(order) and reached == set(position)
            and all(position[id(t)] < position[id(p)] for t in order for p in t.inputs))


def _order_library(order, root):
    from backprop.autograd import nodes
    return [id(t) for t in order] == [id(t) for t in nodes(root)[::-1]]


def _order_sorts_in_place(order, root):
    order.reverse()
    return is_backward_order(order[::-1], root)


EXERCISES["backward_order"] = (is_backward_order, [
    (_order_duplicates_kept, "appears twice"),
    (_order_no_completeness, "left out"),
    (_order_extra_allowed, "nothing else"),
    (_order_one_fixed, "more than one order is right"),
    (_order_set_only, "reversed"),
    (_order_root_first_only, "EACH of its inputs"),
    (_order_first_path, "first path"),
    (_order_by_values, "by identity"),
    (_order_recursive, "recursion limit"),
    (_order_library, LIBRARY),
    (_order_sorts_in_place, "changed the list"),
    (lambda order, root: "yes", "True or False"),
])
ALTERNATIVES["backward_order"] = [_order_by_pairs, _order_by_seen]


def _tanh_overflowing_numpy(self):
    """The same textbook form with np.exp: no exception, inf / inf = nan at x = 450."""
    e = np.exp(2 * self.data)
    t = float((e - 1) / (e + 1))
    out = type(self)(t, (self,))

    def _backward():
        self.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out


def _tanh_stable(self):
    """A valid alternative: exp of a negative number only, with the sign of x."""
    e = math.exp(-2 * abs(self.data))
    t = math.copysign((1 - e) / (1 + e), self.data)
    out = type(self)(t, (self,))

    def _backward():
        self.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out


VALUE_WRONG += [(_value_with(tanh=_tanh_overflowing_numpy), "np.exp returns inf")]
ALTERNATIVES["value_engine"].append(_value_with(tanh=_tanh_stable))


def _grad_norm_private(grads):
    """The library's private helper behind the norm's log (a learner trial found it passed)."""
    from types import SimpleNamespace

    from backprop.train import _joint_norm
    return _joint_norm([SimpleNamespace(grad=np.asarray(g, dtype=float)) for g in grads])


GRAD_NORM_WRONG += [(_grad_norm_private, LIBRARY)]
