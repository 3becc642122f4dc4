"""The lesson's training problem, defined once: data, network, loss and training loop.

Standard library only and free of any engine import, because the same loop trains the
reference network on the trusted side and the student's network inside the sandbox.
"""

XS = [[1.2, 3.5, 5.2], [-2.0, 2.0, -3.5], [2.2, 7.1, 4.2]]
YS = [-1.0, 1.0, -1.0]
NIN, NOUTS = 3, [4, 4, 1]  # MLP(3, [4, 4, 1]): 41 parameters
LEARNING_RATE = 0.1
STEPS = 50
# The reference's final loss from 300 seeds was at most 0.0165; the threshold leaves a 3x margin.
LOSS_THRESHOLD = 0.05


def sum_squared_error(predictions, targets):
    return sum((yout - ygt) ** 2 for ygt, yout in zip(targets, predictions))


def train(model, xs=XS, ys=YS, learning_rate=LEARNING_RATE, steps=STEPS):
    """Gradient descent as in the lecture; returns the loss before each step."""
    losses = []
    for _ in range(steps):
        loss = sum_squared_error([model(x) for x in xs], ys)
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        losses.append(loss.data)
    return losses
