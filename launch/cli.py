"""The ``skillstack`` command line (typer): train, eval, rollout, video, skills, bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skillstack.envs.registry import UnknownNameError, unknown_name_message
from skillstack.envs.scenes import DEFAULT_SCENE

if TYPE_CHECKING:
    from skillstack.skills.library import Skill

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="skillstack: robot skill library and hierarchical policy stack in MuJoCo.")
skills_app = typer.Typer(no_args_is_help=True, help="Inspect the skill library.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (results as JSON + Markdown).")
memory_app = typer.Typer(no_args_is_help=True, help="Inspect and edit the correction memory (rollout corrections).")
app.add_typer(skills_app, name="skills")
app.add_typer(bench_app, name="bench")
app.add_typer(memory_app, name="memory")
# Piped output (logs, CI) gets 140 columns instead of rich's 80 so tables stay readable.
console = Console() if sys.stdout.isatty() else Console(width=140)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)

SceneOpt = typer.Option(DEFAULT_SCENE, "--scene", help="Scene (skillstack envs --scenes lists them).")
LibraryOpt = typer.Option(None, "--library", "-l", help="Skill library directory "
                          "(default: $SKILLSTACK_LIBRARY, else the shipped assets/skills).")


class CLIError(Exception):
    """An expected user error: printed as one line, exit code 2."""


def _library(path: Optional[Path]):  # noqa: ANN202
    from skillstack.skills.library import SkillLibrary, default_library_path

    return SkillLibrary(path or default_library_path())


def main() -> None:
    """Console entry point: expected errors print one line and exit 2, no traceback."""
    from skillstack.planners.lm import LMBackendError
    from skillstack.skills.library import SkillLoadError
    from skillstack.skills.networks import ArchitectureError

    try:
        app()
    except (UnknownNameError, SkillLoadError, ArchitectureError, OSError, ImportError,
            ValueError, LookupError, CLIError, ConnectionError, TimeoutError, LMBackendError) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        # the message is text, not console markup: "[a-z0-9]" in a hint or "[/x]" in a name must print as is
        err_console.print("[bold red]error:[/] " + escape(msg), highlight=False, soft_wrap=True)
        sys.exit(2)


# ---------------------------------------------------------------------------------------------- train
@app.command()
def train(
    env: str = typer.Argument(..., help="Registered env, e.g. metaworld/drawer-open-v3."),
    algo: str = typer.Option("sac-demos", help="Training algorithm (skillstack algos lists them)."),
    steps: int = typer.Option(100_000, help="What a step is depends on the algorithm: env steps (RL) or "
                              "gradient steps (bc, dagger); skillstack algos says which."),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto", help="auto | cpu | cuda."),
    n_envs: int = typer.Option(1, "--n-envs", help="Parallel envs for RL collection."),
    run_dir: Optional[Path] = typer.Option(None, help="Default runs/<env>/<algo>-s<seed>."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run's last checkpoint."),
    eval_every: Optional[int] = typer.Option(None, help="Periodic evaluation interval."),
    eval_episodes: int = typer.Option(20),
    final_eval_episodes: int = typer.Option(100, help="Episodes of the evaluation registered with the skill."),
    checkpoint_every: Optional[int] = typer.Option(None),
    stop_at_success: Optional[float] = typer.Option(None, help="Stop once a periodic eval reaches this."),
    max_minutes: Optional[float] = typer.Option(None, help="Wall-clock budget [min]."),
    n_demos: int = typer.Option(25, help="Expert episodes for bc / dagger / sac-demos."),
    dagger_rounds: int = typer.Option(4, help="dagger: on-policy rounds after the BC round."),
    dagger_episodes: int = typer.Option(20, help="dagger: policy episodes per round, labelled by the expert."),
    chunk_size: int = typer.Option(1, help="bc / dagger: actions predicted per forward pass (action chunking; "
                                   "1 = off)."),
    execute_steps: Optional[int] = typer.Option(None, help="bc / dagger with --chunk-size: actions of each chunk "
                                                "executed "
                                                "before predicting again (default chunk-size // 2)."),
    policy_head: str = typer.Option("deterministic", help="bc/dagger: deterministic (MSE) | gmm (Gaussian-mixture "
                                    "head, negative log-likelihood; for multimodal experts) | binned "
                                    "(a categorical head per action dimension, two-hot cross-entropy)."),
    policy_features: str = typer.Option("raw", help="bc/dagger: the policy's input — raw (the observation) | "
                                        "clearance (with the hand's clearance profile at 12 yaws appended, "
                                        "computed in the network; robosuite-pickplace pick skills)."),
    gmm_modes: int = typer.Option(5, help="--policy-head gmm: mixture components."),
    action_bins: int = typer.Option(21, help="--policy-head binned: values per action dimension (odd, 3–255)."),
    demo_noise: float = typer.Option(0.0, help="bc / dagger: std of the noise added to the expert's executed "
                                     "actions while collecting demonstrations (DART); labels stay clean."),
    demo_filter: str = typer.Option("all", help="Demonstration episodes used: all | success (only those in which "
                                    "the expert succeeded; --n-demos are still collected)."),
    oversample_dims: list[int] = typer.Option(
        [], "--oversample-dim",
        help="bc / dagger: an action index (repeatable) whose active steps (|a| > 0.1 in the target chunk) are drawn "
             "--oversample-factor times as often in training, e.g. 5 for the yaw of robosuite's OSC action."),
    oversample_factor: float = typer.Option(1.0, help="bc / dagger: see --oversample-dim (1 = uniform)."),
    demo_workers: int = typer.Option(1, help="Processes that collect the demonstrations in parallel (same "
                                     "demonstrations for any number; pays on robosuite)."),
    bc_pretrain_steps: int = typer.Option(3000, help="sac-demos / ibrl: BC pre-training steps of the actor (per "
                                          "round with --bc-dagger-rounds)."),
    bc_dagger_rounds: int = typer.Option(0, help="sac-demos / ibrl: DAgger rounds of the actor's pre-training "
                                         "(--dagger-episodes each, labelled by the scripted expert; 0 = plain BC)."),
    actor_warmup_updates: int = typer.Option(5000, help="sac-demos: critic-only updates first."),
    proposal_selection: str = typer.Option("min", help="ibrl: how the deployed policy picks between the RL and BC "
                                           "actions: min (IBRL, higher min-Q) | unanimous | dominant (fall back to "
                                           "BC unless the critics agree; docs/results/metaworld_rl.md)."),
    reward: str = typer.Option("env", help="RL reward: env (the env's own, e.g. Meta-World's shaped reward) | "
                               "success (1 on success, which ends the episode; IBRL's Meta-World setting)."),
    keep_best: bool = typer.Option(True, help="Deploy the policy of the best periodic evaluation when the last "
                                   "one scored lower (the demonstration policy if RL only made it worse)."),
    gate_episodes: int = typer.Option(0, help="> 0: safe-improvement gate — the learner's policy replaces the "
                                      "deployed one (first: the demonstration policy) only if it succeeds on "
                                      "significantly more of this many validation episodes (paired McNemar test; "
                                      "HCPI-style). 0: off."),
    gate_delta: float = typer.Option(0.05, help="Level of the gate's one-sided test."),
    skill_name: Optional[str] = typer.Option(None, help="Registered skill name (default from env)."),
    description: Optional[str] = typer.Option(None, help="Skill description (default from env)."),
    library: Optional[Path] = LibraryOpt,
    no_register: bool = typer.Option(False, "--no-register", help="Do not add the result to the library."),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: torch's choice)."),
) -> None:
    """Train a skill, evaluate it and register it in the library with its measured success rate."""
    from skillstack.envs.fileio import check_output_path
    from skillstack.skills.train import TrainConfig
    from skillstack.skills.train import train as run_train

    lib = None if no_register else str(_library(library).root)
    if lib is not None:  # a library that cannot be written fails now, not after the training (nothing is lost)
        check_output_path(lib, kind="dir")
    if run_dir is not None:
        check_output_path(run_dir, kind="dir")
    cfg = TrainConfig(
        env_id=env, algo=algo, steps=steps, seed=seed, device=device, n_envs=n_envs,
        run_dir=str(run_dir or ""), eval_every=eval_every, eval_episodes=eval_episodes,
        final_eval_episodes=final_eval_episodes, checkpoint_every=checkpoint_every,
        stop_at_success=stop_at_success, max_minutes=max_minutes, n_demos=n_demos,
        bc_pretrain_steps=bc_pretrain_steps, bc_dagger_rounds=bc_dagger_rounds,
        actor_warmup_updates=actor_warmup_updates, dagger_rounds=dagger_rounds, dagger_episodes=dagger_episodes,
        skill_name=skill_name, description=description, library=lib, torch_threads=threads, chunk_size=chunk_size,
        policy_head=policy_head, policy_features=policy_features, gmm_modes=gmm_modes, action_bins=action_bins,
        execute_steps=execute_steps, demo_noise=demo_noise, keep_best=keep_best,
        proposal_selection=proposal_selection, reward=reward, demo_filter=demo_filter,
        oversample_dims=tuple(oversample_dims), oversample_factor=oversample_factor, demo_workers=demo_workers,
        gate_episodes=gate_episodes, gate_delta=gate_delta,
    )
    res = run_train(cfg, resume=resume)
    _print_eval(res.skill.name, res.final_eval)
    console.print(f"run: {res.run_dir}   steps: {res.state.steps}   wall: {res.state.wall_s:.0f}s"
                  + (f"   stopped: {res.state.stop_reason}" if res.state.stop_reason else ""))
    if res.skill_path:
        console.print(f"registered [bold]{res.skill.name}[/] v{res.skill.version} → {res.skill_path}")


# ---------------------------------------------------------------------------------------------- eval
def _print_eval(title: str, r) -> None:  # noqa: ANN001
    t = Table(title=title)
    for col in ("env", "episodes", "success rate", "95% CI", "mean return", "mean length"):
        t.add_column(col)
    t.add_row(r.env_id, str(r.n_episodes), f"{r.success_rate:.3f}",
              f"[{r.success_ci95[0]:.2f}, {r.success_ci95[1]:.2f}]", f"{r.mean_return:.1f}", f"{r.mean_length:.1f}")
    console.print(t)
    if r.n_applicable < r.n_episodes:
        lo, hi = r.success_ci95_applicable
        given = (f"; success given the precondition {r.success_rate_applicable:.3f} [{lo:.2f}, {hi:.2f}]"
                 if r.success_rate_applicable is not None else "")
        console.print(f"precondition held at {r.n_applicable} of {r.n_episodes} starts{given}")
    if r.skipped_seeds:
        console.print(f"skipped {len(r.skipped_seeds)} seeds whose start violated the precondition")


def _check_env_version(env_id: str, skill: Skill) -> None:
    """Refuse ``--env`` unless it names a registered version of the skill's own env with the skill's observation and
    action spaces (another skill's env would measure another skill).

    Raises:
        UnknownNameError: unregistered env id (the message lists the valid ones).
        CLIError: another skill's env, or other spaces.
    """
    from skillstack.envs.make import make_env

    if env_id.rsplit("-v", 1)[0] != skill.env_id.rsplit("-v", 1)[0]:
        raise CLIError(f"--env {env_id} is not a version of {skill.name}'s env {skill.env_id} (the outcomes would be "
                       "another skill's)")
    env = make_env(env_id)
    try:
        spaces = {"observation": (env.observation_space, skill.observation_space),
                  "action": (env.action_space, skill.action_space)}
        for what, (theirs, ours) in spaces.items():
            if theirs.shape != ours.shape:
                raise CLIError(f"--env {env_id}: {what} shape {theirs.shape}, but {skill.name} v{skill.version} "
                               f"was trained on {ours.shape}")
    finally:
        env.close()


@app.command("eval")
def eval_cmd(
    name: str = typer.Argument(..., help="Skill name in the library (or an env name with --expert)."),
    episodes: int = typer.Option(100, "--episodes", "-n"),
    seed: int = typer.Option(0, help="Seed of the first episode (episode i uses seed+i)."),
    version: str = typer.Option("latest"),
    expert: bool = typer.Option(False, "--expert", help="Evaluate the env's scripted expert instead."),
    env: Optional[str] = typer.Option(
        None, "--env",
        help="Evaluate the skill in this env instead of the one in its manifest (same observation and action "
             "spaces), e.g. two versions of a skill on one env's starts."),
    video: Optional[Path] = typer.Option(None, "--video", help="Write an mp4 of the first episodes."),
    video_episodes: int = typer.Option(3),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here."),
    require_applicable: bool = typer.Option(
        False, "--require-applicable",
        help="Run N episodes whose start satisfies the skill's precondition (the env's info['applicable']): "
             "skip seeds where it does not hold (e.g. a place start whose scripted staging dropped the object)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Evaluate a skill: success rate, mean return, episode length (table + JSON), optional video. The success
    rate given the skill's precondition is printed beside it when some starts violate it. ``--env`` runs a library
    skill in another registered env whose observation and action spaces equal its manifest's (a paired comparison
    of two versions trained in different env versions, on the same starts)."""
    from skillstack.skills.evaluate import evaluate
    from skillstack.skills.experts import make_expert

    if episodes <= 0:
        raise CLIError("--episodes must be positive")
    _check_outputs(json_out=json_out, video=video)
    if expert and env is not None:
        raise CLIError("--env evaluates a library skill in another env; with --expert NAME is the env")
    if expert:
        env_id, policy, label = name, make_expert(name).predict, f"{name} (scripted expert)"
    else:
        try:
            skill = _library(library).load(name, version)
        except UnknownNameError as e:
            if "/" in name:  # an env name: the user probably meant the env's scripted expert
                raise UnknownNameError(f"{e}; {name!r} looks like an env name: evaluate an env's scripted expert "
                                       "with --expert, or a library skill by its name") from None
            raise
        env_id, policy, label = skill.env_id, skill, f"{skill.name} v{skill.version}: {skill.description}"
        if env is not None:
            _check_env_version(env, skill)
            env_id, label = env, f"{label} (in {env})"
    res = evaluate(policy, env_id, episodes, seed_base=seed, video_path=video, video_episodes=video_episodes,
                   label=label, progress=True, require_applicable=require_applicable)
    _print_eval(label, res)
    payload = {"skill": name, "version": version, "expert": expert, "env_id": env_id, **res.to_dict()}
    if json_out:
        _write_json(json_out, payload, "results")
    if video:
        console.print(f"video → {escape(str(video))}")


@app.command()
def video(
    name: str = typer.Argument(..., help="Skill name in the library."),
    out: Path = typer.Argument(..., help="Output mp4."),
    episodes: int = typer.Option(3),
    seed: int = typer.Option(0),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Record a skill's rollouts as an mp4 with the skill name, step and success overlaid."""
    eval_cmd(name=name, episodes=episodes, seed=seed, version="latest", expert=False, env=None, video=out,
             video_episodes=episodes, json_out=None, library=library)


# ---------------------------------------------------------------------------------------------- skills
@skills_app.command("list")
def skills_list(library: Optional[Path] = LibraryOpt) -> None:
    """List skills: name, version, description, success rate, provenance."""
    lib = _library(library)
    t = Table(title=f"skills in {lib.root}")
    for col in ("name", "version", "description", "env", "success", "algo", "steps", "seed", "git"):
        t.add_column(col)
    for name, m in lib.manifests():
        if isinstance(m, str):  # one broken skill is shown as such, the others still list
            t.add_row(escape(name), "-", f"[red]{escape(m)}[/]", "", "", "", "", "", "")
            continue
        p, met = m.get("provenance", {}), m.get("metrics", {})
        sr = met.get("success_rate")
        t.add_row(escape(name), f"v{escape(str(m.get('version', '?')))}", escape(str(m.get("description", ""))),
                  escape(str(m.get("env_id", ""))),
                  "-" if sr is None else f"{sr:.2f} (n={met.get('n_episodes')})", str(p.get("algo", "")),
                  str(p.get("steps", "")), str(p.get("seed", "")), str(p.get("git_sha") or "")[:8])
    console.print(t)


@skills_app.command("show")
def skills_show(name: str, version: str = typer.Option("latest"), library: Optional[Path] = LibraryOpt) -> None:
    """Print a skill's manifest (after verifying its files)."""
    lib = _library(library)
    lib.load(name, version)  # verifies hashes and builds the networks
    console.print_json(json.dumps(lib.manifest(name, version)))


@skills_app.command("upgrade")
def skills_upgrade(
    root: Optional[Path] = typer.Argument(None, help="Any directory of versioned artifacts (default: the library)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Add the manifest's own sha256 to manifests written by an older skillstack (after checking every file)."""
    from skillstack.skills.library import upgrade_manifests

    changed = upgrade_manifests(root or _library(library).root)
    console.print(f"{len(changed)} manifest(s) upgraded" + "".join(f"\n  {p}" for p in changed))


@skills_app.command("train-affordance")
def skills_train_affordance(
    names: list[str] = typer.Argument(None, help="Skills (default: every skill of --scene in the library)."),
    scene: str = SceneOpt,
    n_train: int = typer.Option(1500, help="Executions whose outcomes train the model."),
    n_test: int = typer.Option(500, help="Held-out executions for the reported metrics."),
    model: str = typer.Option("trees", help="trees (gradient-boosted, default) | mlp."),
    features: str = typer.Option("raw", help="trees: raw (the observation) | relational (also the pairwise "
                                 "offsets between the objects' positions; robosuite scene envs)."),
    steps: int = typer.Option(3000, help="mlp: Adam steps."),
    seed: int = typer.Option(0),
    test_seed: Optional[int] = typer.Option(None, help="First held-out start seed (default 3 000 000 + 100 000·seed);"
                                            " a fresh held-out set, declared before its run."),
    threads: Optional[int] = typer.Option(None, help="torch threads."),
    cache_dir: Optional[Path] = typer.Option(None, help="Keep the outcome datasets (npz) here; a larger --n-train "
                                             "or --n-test extends a cached set instead of collecting it again."),
    workers: int = typer.Option(1, help="Processes that execute the skill from the starts (same outcomes for "
                         "action-chunk policies; batched MLP policies may differ in float rounding)."),
    env: Optional[str] = typer.Option(None, help="Env whose starts the outcomes come from (one skill only; "
                                      "default: the skill's own env), e.g. robosuite-pickplace/place_cereal-v2."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Fit each skill's Monte-Carlo affordance model P(success | obs) and save it as a new skill version."""
    import dataclasses

    import torch

    from skillstack.envs.scenes import get_scene
    from skillstack.skills.affordance import AffordanceConfig, train_affordance

    if threads:
        torch.set_num_threads(threads)
    lib = _library(library)
    if not names:
        sc = get_scene(scene)
        names = [n for n in lib.names() if sc.owns(str(lib.manifest(n).get("env_id", "")))]
        if not names:
            raise CLIError(f"no {sc.name} skills in {lib.root}")
    if env is not None:
        from skillstack.envs.make import env_spec

        if len(names) != 1:
            raise CLIError(f"--env sets the starts of one skill; got {len(names)} skills: {', '.join(names)}")
        env_spec(env)  # an unknown env id lists the valid ones
    cfg = AffordanceConfig(n_train=n_train, n_test=n_test, model=model, steps=steps, seed=seed, features=features,
                           test_seed=test_seed)
    t = Table(title="affordance models (held-out starts)")
    for col in ("skill", "AUROC", "Brier", "ECE", "n", "success rate"):
        t.add_column(col)
    for name in names:
        skill = lib.load(name)
        if env is not None:
            _check_env_version(env, skill)
        model, metrics = train_affordance(skill, cfg, cache_dir=cache_dir, n_workers=workers, env_id=env)
        new = dataclasses.replace(skill, affordance_model=model, metrics={**skill.metrics, "affordance": metrics},
                                  version=None)
        path = lib.save(new)
        t.add_row(name, f"{metrics['auroc']:.3f}", f"{metrics['brier']:.3f}", f"{metrics['ece']:.3f}",
                  str(metrics["n"]), f"{metrics['base_rate']:.2f}")
        console.print(f"saved {name} with affordance → {path}")
    console.print(t)


@skills_app.command("affordance-report")
def skills_affordance_report(
    names: list[str] = typer.Argument(None, help="Skills (default: every skill with an affordance model)."),
    n_test: int = typer.Option(500, help="Held-out executions per skill."),
    seed: int = typer.Option(0, help="Held-out seed offset (starts use 3 000 000 + 100 000·seed + i)."),
    out: Path = typer.Option(Path("bench_results/affordance"), help="Output directory (JSON, Markdown, PNG)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Measure affordance models on held-out starts: AUROC, Brier score, ECE and a calibration plot (PNG)."""
    import torch

    from skillstack.skills.affordance import (
        AFFORDANCE_TEST_SEED_BASE,
        affordance_metrics,
        collect_outcomes,
        write_report,
    )

    lib = _library(library)
    names = names or [n for n in lib.names() if "affordance.safetensors" in lib.manifest(n).get("files", {})]
    if not names:
        raise CLIError(f"no skills with an affordance model in {lib.root}")
    reports = {}
    for name in names:
        skill = lib.load(name)
        if skill.affordance_model is None:
            raise CLIError(f"skill {name!r} has no affordance model (train one: skillstack skills train-affordance "
                           f"{name})")
        test = collect_outcomes(skill, n_test, AFFORDANCE_TEST_SEED_BASE + 100_000 * seed)
        with torch.no_grad():
            p = skill.affordance_model(torch.as_tensor(test.observations, dtype=torch.float32)).numpy()
        reports[name] = {**affordance_metrics(p, test.success), "version": skill.version}
    paths = write_report(reports, out)
    t = Table(title="affordance models (held-out starts)")
    for col in ("skill", "AUROC", "Brier", "ECE", "n", "success rate"):
        t.add_column(col)
    for name, r in reports.items():
        t.add_row(name, f"{r['auroc']:.3f}", f"{r['brier']:.3f}", f"{r['ece']:.3f}", str(r["n"]),
                  f"{r['base_rate']:.2f}")
    console.print(t)
    console.print(f"report → {paths['md']}, {paths['json']}, {paths['png']}")


# ---------------------------------------------------------------------------------------------- rollout


def _print_decision(d: dict) -> None:
    info = d.get("info", {})
    if "grounding" in info:  # goal-grounding planners: the goal they read and the plan they search
        from skillstack.planners.grounding import goal_text

        goal = goal_text(info["goal"]) if info.get("goal") else "none"
        plan = " → ".join(info.get("plan") or []) or "–"
        console.print(f"[dim]goal: {escape(goal)} ({escape(info['grounding'])}); plan: {escape(plan)}[/]")
    t = Table(title=f"decision {d['info'].get('index', '')}".strip(), show_edge=False)
    for col in ("skill", "language", "affordance", "combined"):
        t.add_column(col, justify="right" if col != "skill" else "left")
    for sc in sorted(d["scores"], key=lambda x: -x["combined"])[:6]:
        style = "bold green" if sc["name"] == d["choice"] else ""
        t.add_row(escape(sc["name"]), f"{sc['language']:.3f}", f"{sc['affordance']:.3f}", f"{sc['combined']:.4f}",
                  style=style)
    console.print(t)
    console.print(f"→ [bold]{escape(d['choice'])}[/]")


def _print_skill_end(d: dict) -> None:
    mark = "[green]✓ success[/]" if d["success"] else "[red]✗ failed[/]"
    extra = f" (simulation fault: {d['sim_unstable']})" if d.get("sim_unstable") else ""
    console.print(f"  {mark} after {d['steps']} steps{extra}")


@app.command()
def rollout(
    plan: Optional[str] = typer.Option(None, help="Comma-separated skill names, e.g. open_drawer,pick_red_block."),
    instruction: Optional[str] = typer.Option(None, help="Natural-language instruction for a planner (closed loop)."),
    planner: str = typer.Option("saycan", help="Planner for --instruction (skillstack planners lists them)."),
    backend: Optional[str] = typer.Option(None, help="Language-model backend of saycan planners: embedding "
                                          "(default), hf-causal, openai-compatible."),
    model: Optional[str] = typer.Option(None, help="hf-causal: local model directory; openai-compatible: model name."),
    base_url: Optional[str] = typer.Option(None, help="openai-compatible: server URL, e.g. http://localhost:8000/v1."),
    scene: str = SceneOpt,
    task: Optional[str] = typer.Option(None, help="Long-horizon task whose goal is checked at the end (with "
                                       "--instruction: default = the task or suite entry with that instruction)."),
    seed: int = typer.Option(0, help="Layout seed of the first episode (episode i uses seed+i)."),
    episodes: int = typer.Option(1, "--episodes", "-n", help="Seeded layouts to run."),
    video: Optional[Path] = typer.Option(None, "--video", help="mp4 of the first episode with the overlay."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every episode's result as JSON."),
    library: Optional[Path] = LibraryOpt,
    interactive: bool = typer.Option(False, "--interactive", help="Read corrections from the terminal while the "
                                     "episode runs: at each decision type a correction (Enter: go on); while a "
                                     "skill runs, 'stop' interrupts it."),
    corrections: Optional[Path] = typer.Option(None, "--corrections", help="JSON script of corrections "
                                               "([{\"after_skill\": k | \"at_step\": n, \"text\": ...}])."),
    memory: Optional[Path] = typer.Option(None, "--memory", help="Correction memory file (default: "
                                          "$SKILLSTACK_MEMORY, else corrections.json in the user data dir)."),
    no_memory: bool = typer.Option(False, "--no-memory", help="Neither use nor update the correction memory."),
) -> None:
    """Execute a skill sequence (--plan) or an instruction with a planner (--instruction), closed loop.

    --plan: affordance before each skill, outcome after; stops at the first failure.
    --instruction: the planner chooses a skill after every skill; each decision's table (language score ×
    affordance) is printed, logged in --json and overlaid on --video. Corrections (--interactive or
    --corrections) amend what the planner does; memories of earlier corrections similar to the instruction are
    applied first, and new corrections are stored (--memory, --no-memory).
    """
    from skillstack.envs.scenes import get_scene

    sc = get_scene(scene)
    if episodes <= 0:
        raise CLIError("--episodes must be positive")
    if (plan is None) == (instruction is None):
        raise CLIError("give exactly one of --plan (skill names) or --instruction (text for a planner)")
    _check_outputs(json_out=json_out, video=video)
    if (interactive or corrections is not None) and instruction is None:
        raise CLIError("--interactive and --corrections correct a planner: give --instruction")
    if interactive and corrections is not None:
        raise CLIError("give one of --interactive (the terminal) or --corrections (a script)")
    if (interactive or corrections is not None) and episodes != 1:
        raise CLIError("corrections apply to one episode: use --episodes 1")
    if no_memory and memory is not None:
        raise CLIError("give one of --memory PATH or --no-memory")
    goal_task = sc.task(task) if task is not None else None
    lib = _library(library)
    if instruction is not None:
        from skillstack.planners.corrections import (
            CorrectionMemory,
            ScriptedCorrections,
            TerminalCorrections,
            load_corrections,
        )

        source = (TerminalCorrections() if interactive else
                  ScriptedCorrections(load_corrections(corrections)) if corrections is not None else None)
        mem = None if no_memory else CorrectionMemory(memory)
        _rollout_instruction(instruction, planner, backend, model, base_url, goal_task, seed, episodes, video,
                             json_out, lib, sc, source, mem)
        return
    assert plan is not None
    _rollout_plan([n.strip() for n in plan.split(",") if n.strip()], goal_task, seed, episodes, video, json_out,
                  lib, sc)


def _check_outputs(**paths: Optional[Path]) -> None:
    """Validate output locations before any work starts (:func:`skillstack.envs.fileio.check_output_path`)."""
    from skillstack.envs.fileio import check_output_path

    for p in paths.values():
        if p is not None:
            check_output_path(p)


def _write_json(path: Path, payload: dict, what: str) -> None:
    from skillstack.envs.fileio import atomic_write_json

    atomic_write_json(path, payload)
    console.print(f"{what} → {escape(str(path))}")


def _rollout_plan(names: list[str], task, seed: int, episodes: int, video: Optional[Path],  # noqa: ANN001
                  json_out: Optional[Path], lib, scene) -> None:  # noqa: ANN001
    from tqdm.auto import tqdm

    from skillstack.envs import make_env
    from skillstack.planners.executor import execute_plan, load_plan_skills
    from skillstack.skills.evaluate import wilson_interval

    skills = load_plan_skills(lib, names, scene)
    verbose = episodes == 1

    def on_event(event: str, d: dict) -> None:
        if not verbose:
            return
        if event == "skill_start":
            aff = "n/a" if d["affordance"] is None else f"{d['affordance']:.3f}"
            console.print(f"→ [bold]{escape(d['skill'])}[/]  affordance {aff}")
        else:
            _print_skill_end(d)

    results = []
    env = make_env(scene.env_id, task=task).unwrapped  # compiled once, reused by every episode
    try:
        for i in tqdm(range(episodes), desc="rollout", unit="ep", disable=verbose):
            record = video is not None and i == 0  # the recorded episode gets its own rendering env
            r = execute_plan(names, lib, scene, seed=seed + i, task=task, env=None if record else env,
                             video_path=video if record else None, on_event=on_event, skills=skills)
            results.append(r)
    finally:
        env.close()
    n_ok = sum(r.success for r in results)
    if verbose:
        r = results[0]
        if r.success:
            console.print(f"[bold green]plan succeeded[/] ({r.steps} steps)")
        elif r.failed_skill:
            console.print(f"[bold red]plan failed at skill {escape(r.failed_skill)}[/]")
        else:
            console.print("[bold red]all skills succeeded but the task goal does not hold[/]")
    else:
        lo, hi = wilson_interval(n_ok, episodes)
        t = Table(title=f"plan {','.join(names)} over {episodes} layouts (seeds {seed}..{seed + episodes - 1})")
        for col in ("skill", "ran", "failed here", "success rate when run"):
            t.add_column(col)
        for name in dict.fromkeys(names):
            ran = [ex for r in results for ex in r.executions if ex.skill == name]
            fails = sum(not ex.success for ex in ran)
            t.add_row(name, str(len(ran)), str(fails), f"{1 - fails / max(1, len(ran)):.3f}")
        console.print(t)
        console.print(f"plan success: [bold]{n_ok}/{episodes} = {n_ok / episodes:.3f}[/] (95% CI {lo:.2f}–{hi:.2f})")
    if json_out:
        _write_json(json_out, {"plan": names, "scene": scene.name, "task": task.name if task else None,
                               "library": str(lib.root), "skill_versions": {s.name: s.version for s in skills},
                               "episodes": episodes, "success_rate": n_ok / episodes,
                               "results": [r.to_dict() for r in results]}, "results")
    if video:
        console.print(f"video → {escape(str(video))}")


def _planner_kwargs(backend: Optional[str], model: Optional[str], base_url: Optional[str]) -> dict:
    kw: dict = {}
    if backend is not None:
        kw["backend"] = backend
    if model is not None:
        kw["model_path" if (backend or "embedding") in ("embedding", "hf-causal") else "model"] = model
    if base_url is not None:
        kw["base_url"] = base_url
    return kw


def _print_correction(d: dict) -> None:
    if d.get("stopped"):
        what = "the episode" if d["stopped"] == "episode" else f"skill {d['stopped']} at step {d['step']}"
        console.print(f"[bold magenta]correction[/] {escape(repr(d['text']))}: stopped {escape(what)}")
        return
    a = d["amendment"]
    read = [f"{'' if v else 'not '}{k}" for k, v in a["require"].items()]
    if a["referent"]:
        read.append(f"referent {a['referent']}")
    console.print(f"[bold magenta]correction[/] {escape(repr(d['text']))} → "
                  + (escape(", ".join(read)) if read else "[yellow]not understood[/] (see the JSON log's clauses)"),
                  highlight=False)
    console.print(f"  decision before: {escape(d['before'])}   after: [bold]{escape(d['after'])}[/]")
    for title, key in (("before", "table_before"), ("after", "table_after")):
        console.print(f"  table {title} the correction:")
        for line in d[key][1:]:
            console.print("    " + escape(line), highlight=False)


def _print_memory(entries: list) -> None:
    for m in entries:
        what = ", ".join(f"{'' if v else 'not '}{k}" for k, v in (m["require"] or {}).items())
        if m["referent"]:
            what = (what + ", " if what else "") + f"referent {m['referent']}"
        console.print(f"[cyan]memory[/] {m['id']} (similarity {m['similarity']:.2f}): "
                      f"{escape(repr(m['correction']))} for {escape(repr(m['instruction']))} → {escape(what)}",
                      highlight=False)


def _rollout_instruction(instruction: str, planner: str, backend: Optional[str], model: Optional[str],
                         base_url: Optional[str], task, seed: int, episodes: int,  # noqa: ANN001
                         video: Optional[Path], json_out: Optional[Path], lib, scene,  # noqa: ANN001
                         corrections=None, memory=None) -> None:  # noqa: ANN001
    from tqdm.auto import tqdm

    from skillstack.planners.base import check_planner, make_planner
    from skillstack.planners.executor import library_candidates, run_instruction
    from skillstack.planners.suite import goal_for
    from skillstack.skills.evaluate import wilson_interval

    if not instruction.strip():
        raise CLIError("--instruction is empty")
    goal_task, source = (task, f"task {task.name}") if task is not None else goal_for(scene, instruction)
    check_planner(planner, scene, has_goal=goal_task is not None)
    built = make_planner(planner, scene, **_planner_kwargs(backend, model, base_url))
    console.print(f"instruction: [bold]{escape(instruction)}[/]  planner: {planner}  scene: {scene.name}"
                  + (f"  goal from {source}: {goal_task.goal}" if goal_task else "  (no goal predicates known: "
                     "success = the planner ends with done)"), highlight=False)
    loaded = library_candidates(lib, scene)
    if len(loaded[0]) == 1:
        raise CLIError(f"no skills of scene {scene.name} in {lib.root}")
    verbose = episodes == 1

    def on_event(event: str, d: dict) -> None:
        if verbose:
            {"decision": _print_decision, "correction": _print_correction}.get(event, _print_skill_end)(d)

    results = []
    for i in tqdm(range(episodes), desc="rollout", unit="ep", disable=verbose):
        r = run_instruction(instruction, built, lib, scene, seed=seed + i, task=goal_task, on_event=on_event,
                            loaded=loaded, video_path=video if i == 0 else None, corrections=corrections,
                            memory=memory)
        if verbose and r.memory:
            _print_memory(r.memory)
        results.append(r)
    n_ok = sum(r.success for r in results)
    if verbose:
        r = results[0]
        chosen = [e.skill for e in r.executions]
        verdict = "[bold green]success[/]" if r.success else "[bold red]failure[/]"
        goal = "" if r.goal_satisfied is None else f", goal {'holds' if r.goal_satisfied else 'does not hold'}"
        console.print(f"{verdict}: executed {escape(str(chosen))}, ended by {r.ended_by}{goal} ({r.steps} steps)")
        if r.learned and memory is not None:
            console.print(f"learned {len(r.learned)} correction(s) → {escape(str(memory.path))} "
                          f"(skillstack memory list)")
    else:
        lo, hi = wilson_interval(n_ok, episodes)
        console.print(f"success: [bold]{n_ok}/{episodes} = {n_ok / episodes:.3f}[/] (95% CI {lo:.2f}–{hi:.2f})")
    if json_out:
        _write_json(json_out, {"instruction": instruction, "planner": planner, "backend": backend,
                               "scene": scene.name, "goal": dict(goal_task.goal) if goal_task else None,
                               "library": str(lib.root),
                               "skill_versions": {n: sk.version for n, sk in sorted(loaded[1].items())},
                               "episodes": episodes, "success_rate": n_ok / episodes,
                               "results": [r.to_dict() for r in results]}, "decision log")
    if video:
        console.print(f"video → {escape(str(video))}")


@app.command("train-planner")
def train_planner_cmd(
    kind: str = typer.Option("mlp", help="mlp: the learned planner (policy over skills imitating the symbolic "
                             "oracle); lm: LoRA fine-tuning of the shipped SmolLM2 (saycan-finetuned)."),
    scene: str = SceneOpt,
    out: Path = typer.Option(None, help="Directory of planner versions (default: assets/planners/learned_<scene> "
                             "or lm_<scene>)."),
    seed: int = typer.Option(0),
    steps: Optional[int] = typer.Option(None, help="Adam steps (default 4000 for mlp, 300 for lm)."),
    layouts_per_state: int = typer.Option(6, help="mlp: simulated layouts per discrete state."),
    threads: Optional[int] = typer.Option(None, help="torch threads."),
) -> None:
    """Train a high-level planner on the scene's templated instructions (--kind mlp | lm)."""
    import torch

    from skillstack.envs.scenes import get_scene

    sc = get_scene(scene)
    if kind not in ("mlp", "lm"):
        raise UnknownNameError(unknown_name_message("planner kind", kind, ["mlp", "lm"]))
    sc.require_domain(f"train-planner --kind {kind}")
    if (steps is not None and steps <= 0) or layouts_per_state <= 0:
        raise CLIError("--steps and --layouts-per-state must be positive")
    if threads:
        torch.set_num_threads(threads)
    if kind == "lm":
        from skillstack.planners.finetune import LMPlannerConfig, lm_planner_dir, train_lm_planner

        target = out or lm_planner_dir(sc)
        _check_outputs(out=target / "probe")
        _, _, metrics = train_lm_planner(LMPlannerConfig(seed=seed, steps=steps or 300), sc, out=target)
        console.print(json.dumps(metrics, indent=2), highlight=False)
        return
    from skillstack.planners.learned import PlannerConfig, planner_dir, train_planner

    target = out or planner_dir(sc)
    _check_outputs(out=target / "probe")
    _, metrics = train_planner(PlannerConfig(seed=seed, steps=steps or 4000, layouts_per_state=layouts_per_state), sc,
                               out=target)
    console.print(json.dumps(metrics, indent=2), highlight=False)
    console.print(f"saved → {escape(str(target))}")


@app.command("envs")
def envs_list(
    predicates: bool = typer.Option(False, "--predicates", help="Print the scene's predicates and thresholds."),
    skills: bool = typer.Option(False, "--skills", help="Print the scene's skills: preconditions, effects."),
    tasks: bool = typer.Option(False, "--tasks", help="Print the scene's named tasks and goals."),
    scenes: bool = typer.Option(False, "--scenes", help="List the registered scenes."),
    scene: str = SceneOpt,
) -> None:
    """List registered envs (or the registered scenes, or a scene's predicates / skills / tasks)."""
    from skillstack.envs import ENVS
    from skillstack.envs.scenes import SCENES, get_scene, load_plugins

    if scenes:
        load_plugins()
        t = Table(title="registered scenes")
        for col in ("scene", "env", "skill envs", "skills", "tasks", "symbolic domain", "description"):
            t.add_column(col)
        for name, sc in SCENES.items():
            t.add_row(name, sc.env_id, f"{sc.skill_env_prefix}*", str(len(sc.skills)), str(len(sc.tasks)),
                      "yes" if sc.domain is not None else "no", escape(sc.description))
        console.print(t)
        return
    if predicates or skills or tasks:
        sc = get_scene(scene)
        if predicates:
            t = Table(title=f"{sc.name} predicates")
            t.add_column("predicate")
            t.add_column("definition")
            for k, v in sc.predicates.items():
                t.add_row(escape(k), escape(v))
            console.print(t)
        if skills:
            t = Table(title=f"{sc.name} skills")
            for col in ("skill", "description", "preconditions", "effects"):
                t.add_column(col)
            actions = sc.domain.actions if sc.domain is not None else {}
            for name, text in sc.skills.items():
                a = actions.get(name)
                t.add_row(escape(name), escape(text), ", ".join(a.preconditions) if a else "-",
                          ", ".join(a.effects) if a else "-")
            console.print(t)
        if tasks:
            t = Table(title=f"{sc.name} tasks")
            for col in ("task", "instruction", "goal"):
                t.add_column(col)
            for name, task in sc.tasks.items():
                t.add_row(escape(name), escape(task.instruction), escape(str(dict(task.goal))))
            console.print(t)
        return

    t = Table(title="registered envs")
    t.add_column("name")
    t.add_column("description")
    t.add_column("horizon")
    for n in ENVS.names():
        s = ENVS.get(n)
        t.add_row(n, escape(s.description), str(s.max_episode_steps))
    console.print(t)


@app.command("algos")
def algos_list() -> None:
    """List the registered training algorithms (``skillstack train --algo``) and what a step means for each."""
    from skillstack.skills.algorithms import ALGORITHMS

    t = Table(title="training algorithms")
    for col in ("algo", "a step is", "off-policy", "demonstrations", "--n-envs > 1", "description"):
        t.add_column(col)
    for name, a in ALGORITHMS.items():
        t.add_row(name, a.step_unit, "yes" if a.off_policy else "no", "yes" if a.uses_demonstrations else "no",
                  "yes" if a.vectorised else "no", escape(a.description))
    console.print(t)


@app.command("planners")
def planners_list() -> None:
    """List the registered planners and what they need."""
    from skillstack.planners.base import planner_names, planner_spec

    t = Table(title="registered planners")
    for col in ("planner", "needs a symbolic domain", "needs the goal", "language model", "description"):
        t.add_column(col)
    for n in planner_names():
        p = planner_spec(n)
        t.add_row(n, "yes" if p.needs_domain else "no", "yes" if p.needs_goal else "no",
                  "yes" if p.language_model else "no", escape(p.description))
    console.print(t)


# ---------------------------------------------------------------------------------------------- bench
@bench_app.command("throughput")
def bench_throughput(
    env: str = typer.Option("metaworld/drawer-open-v3", help="A metaworld/* or robosuite/* env."),
    steps: int = typer.Option(20_000, help="Steps per measurement."),
    repeats: int = typer.Option(11, help="Interleaved repeats of the env measurements (medians reported)."),
    max_envs: int = typer.Option(2, help="Measure vectorised collection with 1..max_envs envs."),
    sac_steps: int = typer.Option(2000, help="Timed SB3 SAC training steps (0 skips)."),
    ppo_steps: int = typer.Option(4096, help="Timed SB3 PPO training steps, whole 2048-step rollouts (0 skips)."),
    candidates: str = typer.Option("16,64", help="Planner latency: candidate counts ('' skips)."),
    planners: str = typer.Option("saycan,saycan-no-affordance,saycan-causal", help="Planner latency: planners."),
    out: Path = typer.Option(Path("bench_results/throughput"), help="Output directory."),
    scene: str = typer.Option(DEFAULT_SCENE, "--scene", help="Planner latency: scene (skills, observations)."),
    planner_threads: Optional[int] = typer.Option(None, help="Planner latency: torch threads (default: torch's "
                                                  "default, one per physical core; training rates use one)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Env steps/s (raw mj_step, bare Meta-World or robosuite, skillstack env, SB3-vectorised 1..N envs),
    SAC/PPO training steps/s and planner decision latency, measured in one run."""
    from skillstack.envs import resolve_env_id
    from skillstack.envs.scenes import get_scene
    from skillstack.launch.bench import run_throughput
    from skillstack.planners.base import check_planner

    if steps <= 0 or max_envs <= 0 or sac_steps < 0 or ppo_steps < 0 or repeats <= 0:
        raise CLIError("--steps and --max-envs must be positive, --sac-steps/--ppo-steps non-negative")
    if planner_threads is not None and planner_threads <= 0:
        raise CLIError(f"--planner-threads must be positive, got {planner_threads}")
    env = resolve_env_id(env)
    if not env.startswith(("metaworld/", "robosuite/")):
        raise CLIError(f"bench throughput measures metaworld/* and robosuite/* envs, not {env!r}")
    counts = tuple(int(c) for c in candidates.split(",") if c.strip())
    names = tuple(p.strip() for p in planners.split(",") if p.strip())
    sc = get_scene(scene)
    for n in names:
        check_planner(n, sc)
    _check_outputs(out=out / "throughput.json")
    run_throughput(env, steps, max_envs, out, console, repeats=repeats, sac_steps=sac_steps, ppo_steps=ppo_steps,
                   library=_library(library) if counts else None, planner_candidates=counts, planners=names,
                   scene=sc, planner_threads=planner_threads)


@bench_app.command("skills")
def bench_skills(
    suite: str = typer.Option(DEFAULT_SCENE, help="Evaluate-only: library skills of a scene | metaworld | all. "
                                                  "With --train: task suite mt10 | mt50 | a scene's name."),
    skills: Optional[str] = typer.Option(None, help="Comma-separated skill names (with --train: env ids); "
                                                    "overrides --suite."),
    train: bool = typer.Option(False, "--train", help="Train-and-evaluate: train every task with --algo under "
                                                      "--steps, then evaluate (not registered in any library)."),
    algo: str = typer.Option("sac-demos", help="--train: algorithm."),
    steps: int = typer.Option(30_000, help="--train: env-step budget per task and seed."),
    stop_at_success: float = typer.Option(1.0, help="--train: stop at the first periodic evaluation "
                                                    "(--eval-episodes episodes) with at least this success "
                                                    "(> 1 disables)."),
    eval_every: int = typer.Option(5000, help="--train: periodic evaluation interval [env steps]."),
    eval_episodes: int = typer.Option(20, help="--train: episodes per periodic evaluation, which the stop rule "
                                               "and the kept best policy are judged on (a 20-episode 1.00 has a "
                                               "Wilson 95 % interval down to 0.84)."),
    threads: int = typer.Option(1, help="--train: torch threads per training process."),
    n_demos: int = typer.Option(25, help="--train: expert episodes (bc / dagger / sac-demos / ibrl)."),
    bc_pretrain_steps: int = typer.Option(3000, help="--train, sac-demos / ibrl: BC pre-training steps of the "
                                          "actor (per round with --bc-dagger-rounds)."),
    bc_dagger_rounds: int = typer.Option(0, help="--train, sac-demos / ibrl: DAgger rounds of the actor's "
                                         "pre-training (0 = plain BC)."),
    dagger_episodes: int = typer.Option(20, help="--train: policy episodes per DAgger round."),
    gate_episodes: int = typer.Option(0, help="--train: safe-improvement gate's validation episodes (train "
                                      "--gate-episodes; 0: off)."),
    demo_filter: str = typer.Option("all", help="--train: demonstration episodes used (train --demo-filter): all | "
                                    "success."),
    episodes: int = typer.Option(50, help="Episodes per skill and seed."),
    seeds: int = typer.Option(3, help="Seeds seed..seed+n-1: evaluation seed blocks; with --train, training "
                                      "seeds (each trained policy is evaluated on its seed's block)."),
    seed: int = typer.Option(0, help="First seed (a fresh block of training and evaluation seeds: --seed 2)."),
    backend: str = typer.Option("local", help="local (process pool over the cores) | ray | inline."),
    address: Optional[str] = typer.Option(None, help="--backend ray: address of an existing Ray cluster "
                                                     "(default: start a local Ray instance)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default: usable cores)."),
    chunk: int = typer.Option(25, help="Evaluate-only: episodes per work unit."),
    out: Path = typer.Option(Path("bench_results/skills"), help="Output directory (JSON, Markdown, PNG)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Skill success rates (95 % CI over seeds and pooled), return, length — evaluate-only or train-and-evaluate."""
    from skillstack.launch.bench import run_skills_bench, run_train_bench, task_suite
    from skillstack.launch.workers import BACKENDS

    BACKENDS.get(backend)
    if address is not None and backend != "ray":
        raise CLIError("--address is a Ray cluster address: use it with --backend ray")
    if seeds <= 0 or seed < 0:
        raise CLIError("--seeds must be positive and --seed non-negative")
    seed_list = list(range(seed, seed + seeds))
    _check_outputs(out=out / "skills.json")
    if train:
        from skillstack.envs import resolve_env_id
        from skillstack.skills.train import TrainConfig

        envs = [n.strip() for n in skills.split(",") if n.strip()] if skills else list(task_suite(suite))
        envs = [resolve_env_id(e) for e in envs]
        run_train_bench(envs, algo, steps, seed_list, episodes, out, console, backend=backend,
                        workers=workers, address=address, eval_every=eval_every, eval_episodes=eval_episodes,
                        stop_at_success=stop_at_success if stop_at_success <= 1 else None, threads=threads,
                        n_demos=n_demos, train_options={k: v for k, v in (
                            ("bc_pretrain_steps", bc_pretrain_steps), ("bc_dagger_rounds", bc_dagger_rounds),
                            ("dagger_episodes", dagger_episodes), ("gate_episodes", gate_episodes),
                            ("demo_filter", demo_filter))
                            if v != getattr(TrainConfig, k)},
                        label=f"bench skills --train --suite {suite}" if not skills else "")
        return
    lib = _library(library)
    if skills:
        names = [n.strip() for n in skills.split(",") if n.strip()]
        for n in names:
            lib.path(n)  # unknown names fail here, with suggestions
    else:
        from skillstack.envs.scenes import SCENES, load_plugins

        load_plugins()
        prefixes = {"metaworld": ("metaworld/",), "all": ("",),
                    **{n: (sc.skill_env_prefix,) for n, sc in SCENES.items()}}
        if suite not in prefixes:
            raise UnknownNameError(unknown_name_message("skill suite", suite, list(prefixes)))
        names = [n for n in lib.names() if lib.manifest(n).get("env_id", "").startswith(prefixes[suite])]
        if not names:
            raise CLIError(f"no {suite} skills in {lib.root}")
    run_skills_bench(names, episodes, seed_list, lib, out, console, backend=backend, workers=workers,
                     chunk=chunk, address=address)


def _bench_planners(scene: str, planners: str, seeds: int):  # noqa: ANN202
    """The scene and the comma-separated planners of a planner benchmark, each checked against the scene.

    Raises:
        UnknownNameError: unknown scene or planner.
        ValueError: a planner the scene cannot use.
        CLIError: ``seeds`` ≤ 0.
    """
    from skillstack.envs.scenes import get_scene
    from skillstack.planners.base import check_planner

    sc = get_scene(scene)
    names = [p.strip() for p in planners.split(",") if p.strip()]
    for n in names:
        check_planner(n, sc)
    if seeds <= 0:
        raise CLIError("--seeds must be positive")
    return sc, names


@bench_app.command("long-horizon")
def bench_long_horizon(
    planners: str = typer.Option("saycan,saycan-no-affordance,learned,oracle", help="Comma-separated planners "
                                 "(those the scene cannot use, e.g. symbolic ones without a domain, are refused)."),
    scene: str = SceneOpt,
    suite: Optional[Path] = typer.Option(
        None, help="Instruction suite JSON (default: the scene's first suite)."),
    seeds: int = typer.Option(1, help="Layout seeds per instruction (0..seeds-1)."),
    execute: bool = typer.Option(True, help="Also execute every plan in simulation (execution success)."),
    out: Path = typer.Option(Path("bench_results/planners"), help="Output directory (JSON, Markdown, PNG)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Plan success and execution success of planners on the instruction suite, per SayCan family."""
    from skillstack.launch.bench import run_long_horizon

    sc, names = _bench_planners(scene, planners, seeds)
    _check_outputs(out=out / "long_horizon.json")
    run_long_horizon(names, sc, suite, list(range(seeds)), execute, out, _library(library), console)


@bench_app.command("sample-efficiency")
def bench_sample_efficiency(
    envs: str = typer.Option("metaworld/drawer-open-v3,metaworld/pick-place-v3,metaworld/push-v3,"
                             "metaworld/reach-v3,metaworld/peg-insert-side-v3"),
    algos: str = typer.Option("ibrl,sac-demos,sac", help="Comma-separated NAME[:field=value...], the fields being "
                              "TrainConfig's (e.g. ibrl:n_demos=100:bc_dagger_rounds=4, sac:max_minutes=150)."),
    minutes: float = typer.Option(15.0, help="Wall-clock budget per (env, algo, seed) run [min] (an algorithm's "
                                  "max_minutes=... overrides it)."),
    steps: int = typer.Option(1_000_000, help="Env-step cap per run."),
    seed: int = typer.Option(0, help="First training seed."),
    seeds: int = typer.Option(3, help="Training seeds per (env, algo): seed..seed+seeds-1."),
    stop: bool = typer.Option(True, help="Stop a run at its first evaluation >= --threshold after RL started "
                              "(--no-stop: train for the whole budget)."),
    threshold: float = typer.Option(0.9, help="Success rate whose first crossing is reported."),
    eval_every: int = typer.Option(5000),
    eval_episodes: int = typer.Option(20),
    out: Path = typer.Option(Path("bench_results/sample_efficiency")),
    threads: int = typer.Option(1, help="torch threads per run."),
) -> None:
    """Success vs env steps and wall-clock per env, algorithm and seed: time to a threshold, the regression after
    RL starts (vs the BC start), curves with intervals over seeds. Runs resume: rerun the command to continue."""
    from skillstack.launch.bench import run_sample_efficiency

    if seeds <= 0 or minutes <= 0:
        raise CLIError("--seeds and --minutes must be positive")
    _check_outputs(out=out / "sample_efficiency.json")
    run_sample_efficiency([e for e in envs.split(",") if e], [a for a in algos.split(",") if a], minutes,
                          steps, list(range(seed, seed + seeds)), threshold, eval_every, eval_episodes, out, console,
                          threads, stop)


@bench_app.command("corrections")
def bench_corrections(
    planners: str = typer.Option("saycan,goal-grounding,oracle", help="Comma-separated planners."),
    scene: str = SceneOpt,
    suite: Path = typer.Option(Path("assets/corrections/tabletop_corrections.json"),
                               help="Corrections suite JSON (scenarios with scripted corrections)."),
    seeds: int = typer.Option(2, help="Layout seeds per scenario (0..seeds-1; the second instruction uses "
                              "100+seed)."),
    out: Path = typer.Option(Path("bench_results/corrections"), help="Output directory (JSON, Markdown)."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Success uncorrected, with the scripted correction, and on a second instruction with vs without the
    correction memory (issue 20's targets: ≥ 90 %; ≥ 80 % and ≥ 30 points above no memory)."""
    from skillstack.launch.bench.corrections import run_corrections

    sc, names = _bench_planners(scene, planners, seeds)
    _check_outputs(out=out / "corrections.json")
    run_corrections(names, sc, suite, list(range(seeds)), out, _library(library), console)


MemoryOpt = typer.Option(None, "--memory", help="Correction memory file (default: $SKILLSTACK_MEMORY, else "
                         "corrections.json in the user data dir).")


def _memory(path: Optional[Path]):  # noqa: ANN202
    from skillstack.planners.corrections import CorrectionMemory

    return CorrectionMemory(path)


@memory_app.command("list")
def memory_list(memory: Optional[Path] = MemoryOpt) -> None:
    """One line per stored correction: id, scene, instruction, correction, what it requires."""
    mem = _memory(memory)
    if not mem.entries:
        console.print(f"no corrections stored in {escape(str(mem.path))}")
        return
    t = Table(title=f"correction memory {mem.path} ({len(mem.entries)} entries)")
    for col in ("id", "scene", "instruction", "correction", "requires", "wrong → fix"):
        t.add_column(col)
    for e in mem.entries:
        a = e.amendment
        req = ", ".join(f"{'' if v else 'not '}{k}" for k, v in a.get("require", {}).items())
        if a.get("referent"):
            req = (req + "; " if req else "") + f"referent {a['referent']}"
        t.add_row(e.id, e.scene, escape(e.instruction), escape(e.correction), escape(req),
                  f"{e.wrong_choice or '–'} → {e.fix or '–'}")
    console.print(t)


@memory_app.command("show")
def memory_show(entry: str = typer.Argument(..., help="Entry id (or a unique prefix)."),
                memory: Optional[Path] = MemoryOpt) -> None:
    """Print one entry as JSON (the instruction, state, wrong choice, correction, amendment and fix)."""
    from dataclasses import asdict

    console.print(json.dumps(asdict(_memory(memory).get(entry)), indent=2), highlight=False)


@memory_app.command("forget")
def memory_forget(entry: str = typer.Argument(..., help="Entry id (or a unique prefix)."),
                  memory: Optional[Path] = MemoryOpt) -> None:
    """Delete one entry (the file is rewritten atomically)."""
    mem = _memory(memory)
    e = mem.forget(entry)
    console.print(f"forgot {e.id}: {escape(repr(e.correction))} for {escape(repr(e.instruction))}")


if __name__ == "__main__":
    main()
