"""Gain, SpecAugment masks and mixup change what they should, reproducibly, and nothing else."""

from __future__ import annotations

import pytest
import torch

from tunetag.config import TrainConfig
from tunetag.errors import ParameterError
from tunetag.training.augment import (
    augment_batch,
    mask_time_and_rows,
    mixup,
    random_gain,
)

N, FRAMES = 6, 40
ROWS = {"mel": 32, "chroma": 12, "tempogram": 20, "waveform": 3}


def make_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    """Views on one time grid: dB views around -40 dB, level-invariant views in 0..1."""
    g = torch.Generator().manual_seed(seed)
    batch = {}
    for view, rows in ROWS.items():
        x = torch.rand(N, 1, rows, FRAMES, generator=g)
        batch[view] = x * 60 - 70 if view in ("mel", "waveform") else x
    return batch


def make_targets() -> dict[str, torch.Tensor]:
    """A one-hot single-label task with an unlabelled song, and a multi-hot task."""
    mood = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).float()
    mood[4] = torch.nan
    genre = torch.tensor([[1, 0], [1, 1], [0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)
    return {"mood": mood, "genre": genre}


def clone(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in d.items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]) or (
            torch.isnan(a[k]).equal(torch.isnan(b[k]))
            and torch.equal(a[k].nan_to_num(), b[k].nan_to_num())
        ), k


def gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_gain_shifts_db_views_by_one_amount_per_example_and_leaves_others():
    batch = make_batch()
    original = clone(batch)

    out = random_gain(batch, 6.0, gen())

    assert_same(batch, original)
    shift_mel = out["mel"] - batch["mel"]
    shift_wave = out["waveform"] - batch["waveform"]
    per_example = shift_mel[:, 0, 0, 0]
    assert torch.allclose(shift_mel, per_example.view(-1, 1, 1, 1).expand_as(shift_mel), atol=1e-4)
    assert torch.allclose(
        shift_wave, per_example.view(-1, 1, 1, 1).expand_as(shift_wave), atol=1e-4
    )
    assert (per_example.abs() <= 6.0 + 1e-4).all()
    assert per_example.unique().numel() == N
    assert torch.equal(out["chroma"], batch["chroma"])
    assert torch.equal(out["tempogram"], batch["tempogram"])


def test_zero_gain_returns_the_batch_unchanged():
    batch = make_batch()
    assert_same(random_gain(batch, 0.0, gen()), batch)


def test_time_masks_hide_the_same_frames_in_every_view_with_its_mean():
    batch = make_batch()
    original = clone(batch)

    out = mask_time_and_rows(batch, time_masks=2, row_masks=0, max_fraction=0.2, generator=gen())

    assert_same(batch, original)
    hidden_by_view = {}
    for view, x in batch.items():
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        changed = out[view] != x
        # A hidden frame is hidden in every row, and holds the example's mean of the view.
        frame_hidden = changed.all(dim=2).squeeze(1)
        assert torch.equal(changed.any(dim=2).squeeze(1), frame_hidden)
        assert torch.allclose(out[view], torch.where(changed, mean, x))
        hidden_by_view[view] = frame_hidden
    first = hidden_by_view["mel"]
    assert first.any()
    for hidden in hidden_by_view.values():
        assert torch.equal(hidden, first)
    # Two masks of at most floor(0.2 * 40) = 8 frames each.
    assert (first.sum(dim=1) <= 16).all()


def test_row_masks_stay_within_rows_and_bounded_width():
    batch = make_batch()

    out = mask_time_and_rows(batch, time_masks=0, row_masks=1, max_fraction=0.25, generator=gen())

    assert torch.equal(out["waveform"], batch["waveform"])  # 3 rows: no row mask
    any_hidden = False
    for view in ("mel", "chroma", "tempogram"):
        x, y = batch[view], out[view]
        changed = y != x
        row_hidden = changed.all(dim=3).squeeze(1)  # (N, rows)
        assert torch.equal(changed.any(dim=3).squeeze(1), row_hidden)
        widest = int(0.25 * ROWS[view])
        for example in range(N):
            rows = row_hidden[example].nonzero().flatten()
            if rows.numel():
                any_hidden = True
                assert rows.numel() <= widest
                assert torch.equal(rows, torch.arange(rows[0], rows[0] + rows.numel()))
                mean = x[example].mean()
                assert torch.allclose(y[example, 0, rows], mean.expand(rows.numel(), FRAMES))
    assert any_hidden


def test_single_time_mask_is_one_span_no_wider_than_the_fraction():
    batch = make_batch()
    for seed in range(20):
        out = mask_time_and_rows(batch, 1, 0, 0.1, gen(seed))
        hidden = (out["mel"] != batch["mel"]).all(dim=2).squeeze(1)
        for example in range(N):
            frames = hidden[example].nonzero().flatten()
            assert frames.numel() <= 4
            if frames.numel():
                assert frames[-1] - frames[0] + 1 == frames.numel()


def test_no_masks_returns_the_batch_unchanged():
    batch = make_batch()
    assert_same(mask_time_and_rows(batch, 0, 0, 0.1, gen()), batch)


def test_views_on_different_time_grids_are_refused():
    batch = make_batch()
    batch["chroma"] = batch["chroma"][..., :-1]
    with pytest.raises(ParameterError, match="share their frames"):
        mask_time_and_rows(batch, 1, 0, 0.1, gen())


def mixing_of(batch, out) -> tuple[float, list[int]]:
    """Recover lam and the partner of each example from a mixed batch, checking that every
    view of every example is lam * own + (1 - lam) * partner's with one lam for the batch."""
    x, y = batch["mel"].flatten(1), out["mel"].flatten(1)
    lam, partner = None, []
    for i in range(N):
        if torch.allclose(y[i], x[i], atol=1e-5):
            partner.append(i)  # paired with itself
            continue
        fits = []
        for j in range(N):
            if j == i:
                continue
            d = x[i] - x[j]
            lam_ij = ((y[i] - x[j]) @ d / (d @ d)).item()
            if torch.allclose(lam_ij * x[i] + (1 - lam_ij) * x[j], y[i], atol=1e-3):
                fits.append((j, lam_ij))
        assert len(fits) == 1, i
        j, lam_ij = fits[0]
        partner.append(j)
        lam = lam_ij if lam is None else lam
        assert lam_ij == pytest.approx(lam, abs=1e-4)
    assert lam is not None and 0 < lam < 1
    for view in batch:
        expected = lam * batch[view] + (1 - lam) * batch[view][partner]
        assert torch.allclose(out[view], expected, atol=1e-3)
    return lam, partner


def test_mixup_gives_convex_combinations_of_pairs():
    batch, targets = make_batch(), make_targets()
    originals = clone(batch), clone(targets)

    out, mixed = mixup(batch, targets, 0.4, gen())

    assert_same(batch, originals[0])
    assert_same(targets, originals[1])
    lam, partner = mixing_of(batch, out)
    assert sorted(partner) == list(range(N))  # a permutation
    expected = lam * targets["genre"] + (1 - lam) * targets["genre"][partner]
    assert torch.allclose(mixed["genre"], expected)
    assert ((mixed["genre"] >= 0) & (mixed["genre"] <= 1)).all()
    labelled = ~torch.isnan(mixed["mood"]).any(dim=1)
    assert labelled.any()
    mood = mixed["mood"][labelled]
    assert ((mood >= 0) & (mood <= 1)).all()
    assert torch.allclose(mood.sum(dim=1), torch.ones(len(mood)))


def test_mixup_keeps_an_unlabelled_song_unlabelled_in_its_pairs():
    batch, targets = make_batch(), make_targets()

    out, mixed = mixup(batch, targets, 1.0, gen(2))

    _, partner = mixing_of(batch, out)
    unlabelled_pairs = {i for i in range(N) if 4 in (i, partner[i])}
    assert partner[4] != 4 and len(unlabelled_pairs) >= 2  # song 4 is mixed with another
    for i in range(N):
        row_nan = torch.isnan(mixed["mood"][i])
        assert row_nan.all() if i in unlabelled_pairs else not row_nan.any()
    assert not torch.isnan(mixed["genre"]).any()


def test_zero_alpha_returns_inputs_unchanged():
    batch, targets = make_batch(), make_targets()
    out, mixed = mixup(batch, targets, 0.0, gen())
    assert_same(out, batch)
    assert_same(mixed, targets)


def test_mixup_refuses_integer_targets():
    with pytest.raises(ParameterError, match="must be float"):
        mixup(make_batch(), {"mood": torch.zeros(N, dtype=torch.long)}, 0.2, gen())


def test_seeded_generator_gives_the_same_augmentation_and_leaves_global_rng_alone():
    config = TrainConfig(
        augment_gain_db=6.0, augment_time_masks=2, augment_freq_masks=2, mixup_alpha=0.3
    )
    batch, targets = make_batch(), make_targets()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)

    first = augment_batch(batch, targets, config, gen(7))
    second = augment_batch(batch, targets, config, gen(7))
    third = augment_batch(batch, targets, config, gen(8))

    assert torch.rand(1).item() == before.item()
    assert_same(first[0], second[0])
    assert_same(first[1], second[1])
    assert not torch.equal(first[0]["mel"], third[0]["mel"])


def test_all_off_config_returns_identical_tensors():
    config = TrainConfig(augment_gain_db=0.0, augment_time_masks=0, augment_freq_masks=0)
    batch, targets = make_batch(), make_targets()

    out, mixed = augment_batch(batch, targets, config, gen())

    assert all(out[v] is batch[v] for v in batch)
    assert all(mixed[t] is targets[t] for t in targets)


def test_each_switch_in_the_config_turns_on_its_augmentation():
    batch, targets = make_batch(), make_targets()
    off = dict(augment_gain_db=0.0, augment_time_masks=0, augment_freq_masks=0, mixup_alpha=0.0)

    gain, _ = augment_batch(batch, targets, TrainConfig(**{**off, "augment_gain_db": 3.0}), gen())
    assert not torch.equal(gain["mel"], batch["mel"])
    assert torch.equal(gain["chroma"], batch["chroma"])

    masked, _ = augment_batch(
        batch, targets, TrainConfig(**{**off, "augment_time_masks": 3}), gen()
    )
    assert not torch.equal(masked["chroma"], batch["chroma"])

    mixed, mixed_targets = augment_batch(
        batch, targets, TrainConfig(**{**off, "mixup_alpha": 1.0}), gen()
    )
    assert not torch.equal(mixed["chroma"], batch["chroma"])
    assert not torch.equal(mixed_targets["genre"], targets["genre"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: random_gain(b, -1.0, gen()), "max_db"),
        (lambda b: mask_time_and_rows(b, -1, 0, 0.1, gen()), "mask counts"),
        (lambda b: mask_time_and_rows(b, 1, 0, 1.0, gen()), "max_fraction"),
        (lambda b: mixup(b, {}, -0.5, gen()), "alpha"),
    ],
)
def test_bad_parameters_are_refused(call, message):
    with pytest.raises(ParameterError, match=message):
        call(make_batch())


def test_a_per_patch_view_is_neither_gained_nor_masked_but_mixed():
    """Pooled features of a 3 s patch have no level in dB, no time and no neighbouring rows."""
    batch = {**make_batch(), "musicnn": torch.randn(N, 200)}
    config = TrainConfig(augment_gain_db=6.0, augment_time_masks=2, augment_freq_masks=2)
    out, _ = augment_batch(batch, make_targets(), config, gen())
    assert torch.equal(out["musicnn"], batch["musicnn"])
    assert not torch.equal(out["mel"], batch["mel"])
    only_patches = {"musicnn": batch["musicnn"]}
    assert_same(mask_time_and_rows(only_patches, 2, 2, 0.5, gen()), only_patches)
    mixed, _ = mixup(only_patches, make_targets(), 0.4, gen())
    assert not torch.equal(mixed["musicnn"], batch["musicnn"])
