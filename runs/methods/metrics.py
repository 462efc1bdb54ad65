"""Small metrics shared by trainers and experiments."""

from __future__ import annotations

import numpy as np


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine of the angle between two arrays (flattened); 0.0 if either is zero."""
    u, v = np.ravel(u).astype(np.float64), np.ravel(v).astype(np.float64)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0.0 or nv == 0.0:
        return 0.0
    return float(u @ v / (nu * nv))


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Classification accuracy of output activity.

    Args:
        outputs: output-neuron values, shape (n_out, B). With one output neuron the
            prediction is ``output > threshold`` where the threshold is the midpoint of the
            output range (0.5 for sigmoid/identity targets in {0, 1}); with several, argmax.
        labels: integer class labels, shape (B,).
    """
    outputs = np.asarray(outputs)
    labels = np.asarray(labels)
    pred = (outputs[0] > 0.5).astype(int) if outputs.shape[0] == 1 else outputs.argmax(axis=0)
    return float(np.mean(pred == labels))
