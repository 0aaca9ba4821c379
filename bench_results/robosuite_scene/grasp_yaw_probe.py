"""Hand-over probe (twentieth session): the carton's pose in the hand and the hand's yaw when a ``pick_milk`` policy
ends with the carton lifted, ``pick_milk`` v0013 (shipped then) against v0014 (the candidate, shipped since the
twenty-first session), both in ``assets/skills``, on the same ``-v1`` starts (seeds 500, 501, ...).

Usage: ``python grasp_yaw_probe.py N``

Printed per library: successes; mean and std of ``Milk_to_robot0_eef_pos`` [m]; mean end-effector height [m]; the
angle between the carton's and the hand's vertical axes [deg] and the carton's yaw in the hand modulo 90 [deg]
(10th/50th/90th percentiles); and how many successful picks end with the hand's x axis more than 20 deg from the
world x axis (robosuite quaternions are (x, y, z, w), as scipy's).
"""

import sys

import numpy as np
from scipy.spatial.transform import Rotation

from skillstack.envs import make_env
from skillstack.envs.scenes import ASSETS
from skillstack.skills.library import SkillLibrary


def yaw_deg(quat: np.ndarray) -> float:
    """Heading of the frame's x axis in the parent's xy plane [deg]."""
    x = Rotation.from_quat(quat).apply([1.0, 0.0, 0.0])
    return float(np.degrees(np.arctan2(x[1], x[0])))


def probe(version: int, n: int) -> str:
    skill = SkillLibrary(ASSETS / "skills").load("pick_milk", version)
    env = make_env("robosuite-pickplace/pick_milk-v1")
    layout = env.unwrapped.obs_layout
    offsets, heights, rel_quats, hand_quats = [], [], [], []
    for i in range(n):
        obs, info = env.reset(seed=500 + i)
        skill.reset()
        for _ in range(200):
            obs, _, terminated, truncated, info = env.step(skill.predict(obs))
            if info.get("success") or terminated or truncated:
                break
        if info.get("success"):
            offsets.append(obs[layout["Milk_to_robot0_eef_pos"]].copy())
            heights.append(obs[layout["robot0_eef_pos"]][2])
            rel_quats.append(obs[layout["Milk_to_robot0_eef_quat"]].copy())
            hand_quats.append(obs[layout["robot0_eef_quat"]].copy())
    env.close()
    o = np.array(offsets)
    tilt = [np.degrees(np.arccos(abs(Rotation.from_quat(q).apply([0.0, 0.0, 1.0])[2]))) for q in rel_quats]
    rel_yaw = [yaw_deg(q) % 90 for q in rel_quats]
    turned = sum(abs(yaw_deg(q)) > 20 for q in hand_quats)
    return (f"v{skill.version}: success {len(offsets)}/{n}; carton in hand {o.mean(0).round(3)} m "
            f"(std {o.std(0).round(3)}); hand z {np.mean(heights):.3f} m; axis angle "
            f"{np.percentile(tilt, [10, 50, 90]).round(1)} deg; yaw in hand mod 90 "
            f"{np.percentile(rel_yaw, [10, 50, 90]).round(1)} deg; hand yaw > 20 deg in {turned}")


if __name__ == "__main__":
    count = int(sys.argv[1])
    print("shipped  ", probe(13, count))
    print("candidate", probe(14, count))
