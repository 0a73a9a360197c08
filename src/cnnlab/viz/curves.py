"""Training curves and the learning-rate finder's loss-vs-LR plot."""
import csv

from matplotlib.ticker import MaxNLocator

from .figure import new_figure, save_figure


def _read_logs(source):
    """``{key: [values per epoch]}`` from a History, its ``.history`` dict, or a CSVLogger file."""
    if hasattr(source, "history"):
        return source.history
    if isinstance(source, dict):
        return source
    with open(source, newline="") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        raise ValueError(f"{source}: the log has no rows (expected a CSV with a header and one row per epoch)")
    logs = {}
    for key in rows[0]:
        try:
            logs[key] = [float(row[key]) for row in rows if row[key] not in ("", None)]
        except ValueError:
            continue  # a text column: not a curve
    return logs


def plot_history(history, path):
    """Loss and metric curves per epoch (training and validation side by side) to ``path``.

    ``history`` is a :class:`cnnlab.training.History`, its ``history`` dict, or a CSV log path.
    """
    logs = _read_logs(history)
    metrics = [k for k in logs if not k.startswith("val_") and k not in ("epoch", "lr") and logs[k]]
    if not metrics:
        raise ValueError(f"plot_history: nothing to plot; the log's columns are {sorted(logs)}")
    figure = new_figure(5 * len(metrics), 3.6)
    for ax, name in zip(figure.subplots(1, len(metrics), squeeze=False)[0], metrics):
        epochs = range(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", label=f"train {name}")
        if logs.get(f"val_{name}"):
            ax.plot(range(1, len(logs[f"val_{name}"]) + 1), logs[f"val_{name}"], marker="o", label=f"val {name}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    return save_figure(figure, path)


def plot_lr_finder(result, path):
    """The smoothed loss against the learning rate (log scale), the suggestion marked."""
    figure = new_figure(6, 4)
    ax = figure.subplots()
    ax.plot(result.lrs, result.losses)
    ax.set_xscale("log")
    ax.axvline(result.suggestion, color="tab:red", linestyle="--", label=f"suggested {result.suggestion:.2g}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed loss")
    ax.set_title("learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(figure, path)
