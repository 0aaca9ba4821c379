"""The ``skillstack`` command line (typer): train, eval, video, skills, bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from skillstack.envs.registry import UnknownNameError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="skillstack: robot skill library and hierarchical policy stack in MuJoCo.")
skills_app = typer.Typer(no_args_is_help=True, help="Inspect the skill library.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (results as JSON + Markdown).")
app.add_typer(skills_app, name="skills")
app.add_typer(bench_app, name="bench")
# Piped output (logs, CI) gets 140 columns instead of rich's 80 so tables stay readable.
console = Console() if sys.stdout.isatty() else Console(width=140)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)

LibraryOpt = typer.Option(None, "--library", "-l", help="Skill library directory "
                          "(default: $SKILLSTACK_LIBRARY, else the shipped assets/skills).")


class CLIError(Exception):
    """An expected user error: printed as one line, exit code 2."""


def _library(path: Optional[Path]):  # noqa: ANN202
    from skillstack.skills.library import SkillLibrary, default_library_path

    return SkillLibrary(path or default_library_path())


def main() -> None:
    """Console entry point: expected errors print one line and exit 2, no traceback."""
    from skillstack.skills.library import SkillLoadError
    from skillstack.skills.networks import ArchitectureError

    try:
        app()
    except (UnknownNameError, SkillLoadError, ArchitectureError, FileExistsError, FileNotFoundError,
            ValueError, LookupError, CLIError) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        err_console.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
        sys.exit(2)


# ---------------------------------------------------------------------------------------------- train
@app.command()
def train(
    env: str = typer.Argument(..., help="Registered env, e.g. metaworld/drawer-open-v3."),
    algo: str = typer.Option("sac-demos", help="sac | ppo | bc | sac-demos."),
    steps: int = typer.Option(100_000, help="Env steps (RL) or gradient steps (bc)."),
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
    n_demos: int = typer.Option(25, help="Expert episodes for bc / sac-demos."),
    bc_pretrain_steps: int = typer.Option(3000, help="sac-demos: BC pre-training steps of the actor."),
    actor_warmup_updates: int = typer.Option(5000, help="sac-demos: critic-only updates first."),
    skill_name: Optional[str] = typer.Option(None, help="Registered skill name (default from env)."),
    description: Optional[str] = typer.Option(None, help="Skill description (default from env)."),
    library: Optional[Path] = LibraryOpt,
    no_register: bool = typer.Option(False, "--no-register", help="Do not add the result to the library."),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: torch's choice)."),
) -> None:
    """Train a skill, evaluate it and register it in the library with its measured success rate."""
    from skillstack.skills.train import TrainConfig
    from skillstack.skills.train import train as run_train

    lib = None if no_register else str(_library(library).root)
    cfg = TrainConfig(
        env_id=env, algo=algo, steps=steps, seed=seed, device=device, n_envs=n_envs,
        run_dir=str(run_dir or ""), eval_every=eval_every, eval_episodes=eval_episodes,
        final_eval_episodes=final_eval_episodes, checkpoint_every=checkpoint_every,
        stop_at_success=stop_at_success, max_minutes=max_minutes, n_demos=n_demos,
        bc_pretrain_steps=bc_pretrain_steps, actor_warmup_updates=actor_warmup_updates,
        skill_name=skill_name, description=description, library=lib, torch_threads=threads,
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


@app.command("eval")
def eval_cmd(
    name: str = typer.Argument(..., help="Skill name in the library (or an env name with --expert)."),
    episodes: int = typer.Option(100, "--episodes", "-n"),
    seed: int = typer.Option(0, help="Seed of the first episode (episode i uses seed+i)."),
    version: str = typer.Option("latest"),
    expert: bool = typer.Option(False, "--expert", help="Evaluate the env's scripted expert instead."),
    video: Optional[Path] = typer.Option(None, "--video", help="Write an mp4 of the first episodes."),
    video_episodes: int = typer.Option(3),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here."),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Evaluate a skill: success rate, mean return, episode length (table + JSON), optional video."""
    from skillstack.envs import make_expert
    from skillstack.skills.evaluate import evaluate

    if episodes <= 0:
        raise CLIError("--episodes must be positive")
    if expert:
        env_id, policy, label = name, make_expert(name).predict, f"{name} (scripted expert)"
    else:
        skill = _library(library).load(name, version)
        env_id, policy, label = skill.env_id, skill.predict, f"{skill.name} v{skill.version}: {skill.description}"
    res = evaluate(policy, env_id, episodes, seed_base=seed, video_path=video, video_episodes=video_episodes,
                   label=label, progress=True)
    _print_eval(label, res)
    payload = {"skill": name, "version": version, "expert": expert, **res.to_dict()}
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = json_out.with_name(f".{json_out.name}.tmp")
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(json_out)
        console.print(f"results → {json_out}")
    if video:
        console.print(f"video → {video}")


@app.command()
def video(
    name: str = typer.Argument(..., help="Skill name in the library."),
    out: Path = typer.Argument(..., help="Output mp4."),
    episodes: int = typer.Option(3),
    seed: int = typer.Option(0),
    library: Optional[Path] = LibraryOpt,
) -> None:
    """Record a skill's rollouts as an mp4 with the skill name, step and success overlaid."""
    eval_cmd(name=name, episodes=episodes, seed=seed, version="latest", expert=False, video=out,
             video_episodes=episodes, json_out=None, library=library)


# ---------------------------------------------------------------------------------------------- skills
@skills_app.command("list")
def skills_list(library: Optional[Path] = LibraryOpt) -> None:
    """List skills: name, version, description, success rate, provenance."""
    lib = _library(library)
    t = Table(title=f"skills in {lib.root}")
    for col in ("name", "version", "description", "env", "success", "algo", "steps", "seed", "git"):
        t.add_column(col)
    for name in lib.names():
        m = lib.manifest(name)
        p, met = m.get("provenance", {}), m.get("metrics", {})
        sr = met.get("success_rate")
        t.add_row(name, f"v{m.get('version', '?')}", m.get("description", ""), m.get("env_id", ""),
                  "-" if sr is None else f"{sr:.2f} (n={met.get('n_episodes')})", str(p.get("algo", "")),
                  str(p.get("steps", "")), str(p.get("seed", "")), str(p.get("git_sha") or "")[:8])
    console.print(t)


@skills_app.command("show")
def skills_show(name: str, version: str = typer.Option("latest"), library: Optional[Path] = LibraryOpt) -> None:
    """Print a skill's manifest (after verifying its files)."""
    lib = _library(library)
    lib.load(name, version)  # verifies hashes and builds the networks
    console.print_json(json.dumps(lib.manifest(name, version)))


@app.command("envs")
def envs_list() -> None:
    """List registered envs."""
    from skillstack.envs import ENVS

    t = Table(title="registered envs")
    t.add_column("name")
    t.add_column("description")
    t.add_column("horizon")
    for n in ENVS.names():
        s = ENVS.get(n)
        t.add_row(n, s.description, str(s.max_episode_steps))
    console.print(t)


# ---------------------------------------------------------------------------------------------- bench
@bench_app.command("throughput")
def bench_throughput(
    env: str = typer.Option("metaworld/drawer-open-v3"),
    steps: int = typer.Option(20_000, help="Steps per measurement."),
    max_envs: int = typer.Option(2, help="Measure vectorised collection with 1..max_envs envs."),
    out: Path = typer.Option(Path("bench_results/throughput"), help="Output directory."),
) -> None:
    """Env steps/s: raw mj_step, bare Meta-World, skillstack env, SB3-vectorised 1..N envs."""
    from skillstack.launch.bench import run_throughput

    run_throughput(env, steps, max_envs, out, console)


@bench_app.command("sample-efficiency")
def bench_sample_efficiency(
    envs: str = typer.Option("metaworld/drawer-open-v3,metaworld/pick-place-v3,metaworld/push-v3"),
    algos: str = typer.Option("sac-demos,sac"),
    minutes: float = typer.Option(15.0, help="Wall-clock budget per (env, algo) run [min]."),
    steps: int = typer.Option(1_000_000, help="Env-step cap per run."),
    seed: int = typer.Option(0),
    threshold: float = typer.Option(0.9, help="Success rate whose first crossing is reported."),
    eval_every: int = typer.Option(5000),
    eval_episodes: int = typer.Option(20),
    out: Path = typer.Option(Path("bench_results/sample_efficiency")),
    threads: int = typer.Option(1, help="torch threads per run."),
) -> None:
    """Wall-clock and env steps to reach a success threshold, per env and algorithm, same seed."""
    from skillstack.launch.bench import run_sample_efficiency

    run_sample_efficiency([e for e in envs.split(",") if e], [a for a in algos.split(",") if a], minutes,
                          steps, seed, threshold, eval_every, eval_episodes, out, console, threads)


if __name__ == "__main__":
    main()
