"""A choosing model's choice, told: the chosen input, its inner score, every candidate."""

from tunetag.evaluation.choice import candidate_scores, choice_sentence, chosen, fold_choices

AUTO = {
    "chosen": "probe:all",
    "C": 0.01,
    "log_loss": 0.5,
    "balanced_accuracy": 0.74,
    "songs": 120,
    "inner_folds": 5,
    "candidates": {
        "probe:musicnn-msd": {"log_loss": 0.6, "balanced_accuracy": 0.70, "std": 0.05, "C": 0.01},
        "probe:all": {"log_loss": 0.5, "balanced_accuracy": 0.74, "std": 0.04, "C": 0.01},
        "stack": {"log_loss": 0.55, "balanced_accuracy": 0.72, "std": 0.06, "C": {"a": 1.0}},
    },
    "left_out": [],
    "note": "",
}
LOGREG = {"C": 0.1, "balanced_accuracy": 0.6, "songs": 40, "inner_folds": 5, "note": ""}


def test_the_choice_in_words():
    assert chosen(AUTO) == "probe:all" and chosen(LOGREG) == "C = 0.1"
    sentence = choice_sentence(AUTO)
    assert sentence.startswith("probe:all (C = 0.01), inner log loss 0.500, inner balanced")
    assert "5 folds of 120 songs" in sentence
    fallback = {"chosen": "probe:all", "C": 0.01, "note": "too few songs for inner folds"}
    assert choice_sentence(fallback) == "probe:all (C = 0.01) (too few songs for inner folds)."


def test_candidates_best_first_and_labels_one_by_one():
    assert [name for name, *_ in candidate_scores(AUTO)] == [
        "probe:all",
        "stack",
        "probe:musicnn-msd",
    ]
    assert candidate_scores(LOGREG) == []
    tags = {"labels": [AUTO, {**AUTO, "chosen": "stack"}]}
    assert chosen(tags) == "probe:all, stack"
    assert choice_sentence(tags).startswith("Per label: 1: probe:all")


def test_fold_choices_count_each_folds_choice():
    folds = [{"mood": AUTO}, {"mood": {**AUTO, "chosen": "stack"}}, {"mood": AUTO}, {}]
    assert fold_choices(folds, "mood").most_common() == [("probe:all", 2), ("stack", 1)]


def test_a_fold_of_one_class_fitted_nothing_and_says_so():
    from tunetag.models.logreg import one_class_report

    alone = one_class_report(3)
    assert chosen(alone) == "class frequency, no fit"
    assert choice_sentence(alone).startswith("class frequency, no fit (one class among")
    folds = [{"mood": LOGREG}, {"mood": alone}]
    assert fold_choices(folds, "mood") == {"C = 0.1": 1, "class frequency, no fit": 1}
