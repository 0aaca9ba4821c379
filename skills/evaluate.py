"""Seeded policy evaluation (success rate, return, episode length) and mp4 export with overlays."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs import make_env

PolicyFn = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float32]]

EVAL_SEED_BASE = 0
"""Final evaluations use seeds ``0..N-1`` (fixed across runs, so results are comparable)."""


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    episode_return: float
    length: int
    first_success_step: int | None
    applicable: bool = True
    """The skill's precondition held at the start (the env's ``info["applicable"]`` after reset; envs that do not
    report it count as applicable)."""


@dataclass
class EvalResult:
    """Summary of an evaluation.

    Attributes:
        env_id: evaluated env.
        n_episodes: number of episodes.
        success_rate: fraction of episodes with ``info["success"]`` at any step (Meta-World's criterion).
        success_ci95: Wilson 95 % interval of the success rate.
        mean_return: mean undiscounted return.
        mean_length: mean episode length [steps].
        episodes: per-episode results.
        n_applicable: episodes whose start satisfied the skill's precondition (``info["applicable"]``).
        success_rate_applicable: success rate over those episodes, P(success | precondition) — the quantity a
            planner relies on when it calls the skill only where its precondition holds (``None`` when no
            episode was applicable).
        success_ci95_applicable: its Wilson 95 % interval.
        skipped_seeds: seeds not run because their start violated the precondition (``require_applicable``).
    """

    env_id: str
    n_episodes: int
    success_rate: float
    success_ci95: tuple[float, float]
    mean_return: float
    mean_length: float
    episodes: list[EpisodeResult] = field(default_factory=list)
    n_applicable: int = 0
    success_rate_applicable: float | None = None
    success_ci95_applicable: tuple[float, float] = (0.0, 1.0)
    skipped_seeds: list[int] = field(default_factory=list)

    def to_dict(self, with_episodes: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not with_episodes:
            d.pop("episodes")
        return d


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927); ``(0, 1)`` when ``n == 0``."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def open_video(path: str | Path, fps: int) -> Any:
    """An H.264 mp4 writer (imageio-ffmpeg) at ``path``, creating its directory; ``append_data(frame)``, ``close()``."""
    import imageio.v2 as imageio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return imageio.get_writer(str(path), fps=fps, codec="libx264", quality=7, macro_block_size=8)


def overlay_text(frame: npt.NDArray[np.uint8], lines: Sequence[str], success: bool) -> npt.NDArray[np.uint8]:
    """``frame (H, W, 3) uint8`` with ``lines`` of white text on a black band and a green/red success square."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    pad, lh = 6, 14
    h = pad * 2 + lh * len(lines)
    draw.rectangle([0, 0, img.width, h], fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * lh), line, fill=(255, 255, 255))
    colour = (40, 200, 60) if success else (200, 60, 40)
    draw.rectangle([img.width - 22, pad, img.width - 8, pad + 14], fill=colour)
    return np.asarray(img)


def evaluate(
    policy: PolicyFn,
    env_id: str,
    n_episodes: int,
    seed_base: int = EVAL_SEED_BASE,
    max_episode_steps: int | None = None,
    stop_on_success: bool = True,
    video_path: str | Path | None = None,
    video_episodes: int = 3,
    label: str = "",
    render_size: tuple[int, int] = (480, 480),
    fps: int = 30,
    progress: bool = False,
    require_applicable: bool = False,
) -> EvalResult:
    """Run ``n_episodes`` seeded episodes of ``policy`` in ``env_id``.

    Episode ``i`` is reset with seed ``seed_base + i``, so two calls give identical results for a
    deterministic policy.

    Args:
        policy: ``obs (obs_dim,) float64 → action (act_dim,) float32``; if it has a ``reset()`` method (a
            :class:`~skillstack.skills.library.Skill`, an action-chunk executor) it is called at every episode start.
        env_id: registered env name.
        n_episodes: number of episodes.
        seed_base: seed of the first episode.
        max_episode_steps: horizon override [steps] (default: the env's registration).
        stop_on_success: end an episode at its first success (Meta-World's evaluation does the same).
        video_path: write an mp4 of the first ``video_episodes`` episodes (H.264 via imageio-ffmpeg).
        video_episodes: how many episodes to record.
        label: text overlaid on the video (e.g. the skill name).
        render_size: ``(width, height)`` of the video [px].
        fps: video frame rate.
        progress: show a progress bar.
        require_applicable: run ``n_episodes`` episodes whose start satisfies the skill's precondition: a seed whose
            reset reports ``info["applicable"] = False`` (e.g. a place start in which the env's scripted staging
            failed to grasp the object) is skipped and recorded in ``skipped_seeds``, and the next seed is drawn.
            The episodes are then seeds ``seed_base, seed_base + 1, …`` minus the skipped ones. Default: every
            seed is run and counted, and the success rate given the precondition is reported beside the overall one.

    Returns:
        An :class:`EvalResult`.

    Raises:
        UnknownNameError: unknown ``env_id``.
        RuntimeError: ``require_applicable`` and more than ``4 * n_episodes`` seeds were skipped (the env's starts
            rarely satisfy the precondition: the evaluation would not describe the skill).
    """
    kwargs: dict[str, Any] = {}
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = max_episode_steps
    record = video_path is not None and video_episodes > 0
    env = make_env(env_id, **kwargs)
    video_env = (make_env(env_id, render_mode="rgb_array", width=render_size[0], height=render_size[1], **kwargs)
                 if record else None)
    writer = None
    if record:
        writer = open_video(video_path, fps)  # type: ignore[arg-type]
    episodes: list[EpisodeResult] = []
    skipped: list[int] = []
    bar: Any = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_episodes, desc=f"eval {label or env_id}", unit="ep")
    try:
        seed = seed_base - 1
        while len(episodes) < n_episodes:
            i = len(episodes)
            seed += 1
            e = video_env if (record and i < video_episodes) else env
            obs, reset_info = e.reset(seed=seed)
            applicable = bool(reset_info.get("applicable", True))
            if require_applicable and not applicable:
                skipped.append(seed)
                if len(skipped) > 4 * n_episodes:
                    raise RuntimeError(f"{env_id}: {len(skipped)} of {len(skipped) + i} starts violate the "
                                       "skill's precondition; require_applicable cannot reach "
                                       f"{n_episodes} episodes")
                continue
            if callable(reset := getattr(policy, "reset", None)):
                reset()  # a stateful policy (an action-chunk skill) starts afresh
            ret, t, first_success = 0.0, 0, None
            frame = e.render() if e is video_env else None
            while True:
                if frame is not None:
                    writer.append_data(overlay_text(frame, [label or env_id, f"episode {i}  seed {seed}  step {t}"],
                                                first_success is not None))
                obs, r, terminated, truncated, info = e.step(policy(obs))
                ret += float(r)
                t += 1
                if info.get("success") and first_success is None:
                    first_success = t
                frame = e.render() if e is video_env else None
                if terminated or truncated or (stop_on_success and first_success is not None):
                    break
            if frame is not None:  # hold the last frame for half a second
                last = overlay_text(frame, [label or env_id, f"episode {i}  seed {seed}  step {t}  "
                                        + ("SUCCESS" if first_success else "FAILURE")], first_success is not None)
                for _ in range(fps // 2):
                    writer.append_data(last)
            episodes.append(EpisodeResult(seed, first_success is not None, ret, t, first_success, applicable))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        env.close()
        if video_env is not None:
            video_env.close()
        if writer is not None:
            writer.close()
    n_succ = sum(e.success for e in episodes)
    app = [e for e in episodes if e.applicable]
    n_app_succ = sum(e.success for e in app)
    return EvalResult(
        env_id=env_id,
        n_episodes=len(episodes),
        success_rate=n_succ / max(1, len(episodes)),
        success_ci95=wilson_interval(n_succ, len(episodes)),
        mean_return=float(np.mean([e.episode_return for e in episodes])) if episodes else 0.0,
        mean_length=float(np.mean([e.length for e in episodes])) if episodes else 0.0,
        episodes=episodes,
        n_applicable=len(app),
        success_rate_applicable=n_app_succ / len(app) if app else None,
        success_ci95_applicable=wilson_interval(n_app_succ, len(app)),
        skipped_seeds=skipped,
    )
