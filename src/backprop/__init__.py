"""Backprop from Scratch: the library the course builds, one idea per module.

The chapters import these modules and show their source, so what you read is what runs:

- ``backprop.data``      MNIST (downloaded once, verified) and small toy data sets
- ``backprop.show``      display a library object's source in a notebook or on the site
- ``backprop.symbolic``  SymPy checks of derivations written by hand
- ``backprop.gradcheck`` finite-difference gradient checks
- ``backprop.tinynet``   chapter 1's 2-2-2 sigmoid network, every gradient derived by hand
- ``backprop.manual``    ManualGrad: layers whose backward pass is written by hand
- ``backprop.autograd``  a tensor autograd engine (``Tensor``, ``loss.backward()``)
- ``backprop.functional``, ``backprop.nn``, ``backprop.optim``  losses, modules, optimisers
- ``backprop.logistic``  chapter 6's logistic regression, its gradient derived by hand
- ``backprop.metrics``   confusion matrix, precision and recall
- ``backprop.cost``      what backpropagation costs: graph memory, forward and backward time
- ``backprop.train``     the training loop the chapters share
- ``backprop.plots``     the figures the chapters draw
"""

__version__ = "0.1.0"
