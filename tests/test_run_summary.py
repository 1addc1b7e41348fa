"""summary.json: final and best of every validation metric; test scored by the chosen and the last weights."""
from zoo.runs import summarize

HISTORY = [{"epoch": 1, "train_loss": 1.0, "valid_loss": 0.9, "valid_accuracy": 0.6},
           {"epoch": 2, "train_loss": 0.5, "valid_loss": 0.7, "valid_accuracy": 0.8},
           {"epoch": 3, "train_loss": 0.3, "valid_loss": 0.8, "valid_accuracy": 0.7}]
DIRECTIONS = {"loss": "min", "accuracy": "max"}  # as the trainer learns them from the task


def test_final_and_best_of_each_split():
    summary = summarize(HISTORY, {"accuracy": 0.79}, {"accuracy": 0.71}, DIRECTIONS)
    assert summary["epochs"] == 3
    assert summary["valid"]["final"] == {"loss": 0.8, "accuracy": 0.7}
    assert summary["valid"]["best"] == {"loss": 0.7, "accuracy": 0.8}  # loss: lowest; accuracy: highest
    assert summary["test"] == {"accuracy": 0.79} and summary["test_final"] == {"accuracy": 0.71}


def test_when_the_last_epoch_is_the_best_both_test_figures_are_its():
    summary = summarize(HISTORY[:2], {"accuracy": 0.8}, directions=DIRECTIONS)
    assert summary["test_final"] == summary["test"]
    assert "test" not in summarize(HISTORY, None, directions=DIRECTIONS)  # a dataset without a test split
