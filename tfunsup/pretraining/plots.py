"""Figures of the pretraining flow (matplotlib `Figure` objects, no backend switch)."""

from matplotlib.figure import Figure


def save_label_efficiency(table, path, title=None):
    """Test accuracy vs. label fraction, pretrained vs. scratch, with std error bars.

    Args:
        table: rows `{"fraction", "method", "mean_acc", "std_acc", "seeds"}`.
        path: PNG file to write.
        title: figure title.
    """
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    for method in sorted({row["method"] for row in table}):
        rows = sorted((r for r in table if r["method"] == method), key=lambda r: r["fraction"])
        ax.errorbar([100 * r["fraction"] for r in rows], [r["mean_acc"] for r in rows],
                    yerr=[r["std_acc"] for r in rows], marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    ax.set_xlabel("labeled fraction of the training split (%)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or "Label efficiency", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
