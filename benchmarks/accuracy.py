"""Accuracy on full MNIST: train a zoo model with cnnlab.fit and report test accuracy and wall time.

    python benchmarks/accuracy.py --data-dir DIR --model lenet5 --epochs 12
    python benchmarks/accuracy.py --data-dir DIR --model keras_mnist_convnet --epochs 12

DIR holds the four original MNIST files (gzipped or not). Training uses light
augmentation (random shifts of up to 2 pixels), Adam with a one-cycle learning
rate schedule stepped per batch, and evaluates on the 10,000 test images after
every epoch (they are passed as ``val``, so ``val_accuracy`` is test accuracy;
nothing is tuned on them: the reported figure is the last epoch's). This is a benchmark, not a test: it prints figures for RESULTS.md.
"""
import argparse
import json
import time

import cnnlab
from cnnlab.data import MNIST, RandomShift
from cnnlab.optim import Adam
from cnnlab.optim.lr_scheduler import OneCycleLR
from cnnlab.training import Callback


class StepScheduler(Callback):
    """Step a per-batch learning-rate scheduler after every optimisation step."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def on_batch_end(self, batch, logs=None):
        self.scheduler.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train, test = MNIST(args.data_dir, train=True), MNIST(args.data_dir, train=False)
    cnnlab.manual_seed(args.seed)
    model = cnnlab.models.create(args.model)
    optimizer = Adam(model.parameters(), lr=args.lr)
    steps = -(-len(train) // args.batch_size)
    schedule = OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps)
    start = time.perf_counter()
    history = cnnlab.fit(model, train, epochs=args.epochs, batch_size=args.batch_size, optimizer=optimizer,
                         transform=RandomShift(2), seed=args.seed, verbose=True,
                         val=test, callbacks=[StepScheduler(schedule)])
    seconds = time.perf_counter() - start
    final = history.history["val_accuracy"][-1]
    print(json.dumps({"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                      "test_accuracy": final, "test_loss": history.history["val_loss"][-1],
                      "wall_seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
