"""Turn-decision probe (twenty-eighth session, development only): does the grasp-yaw turn generalise better from the
raw observation or with the hand's clearance profile as extra input?

Usage (from the repository root): ``python
bench_results/robosuite_scene/turn_feature_probe.py DEMOS.npz``, with the ``demos.npz`` of a ``pick_can-v4``
training run (v0018's recipe, seed 0: 2 000 demonstrations). The expert's yaw action (dimension 5, the clean label)
becomes a class: turn −1 (< −0.5), no turn, turn +1 (> 0.5). A 256×256 MLP classifier is trained by cross-entropy on
the first 1 800 episodes and tested on the other 200 (classifier seeds 0, 1, 2), once on the raw observation (67
values) and once with the hand's clearance [m] (``robosuite_control.hand_clearance``, at the can, in the pose the
observation gives) at 12 yaws relative to the hand's own, 15° apart, appended. Prints the test accuracy on all
states and on those where the expert turns (recall per direction). No env is stepped, no evaluation seed is read.
"""

import sys

import numpy as np
import torch

from skillstack.envs.robosuite_control import hand_clearance
from skillstack.envs.robosuite_scene import PickPlaceScene, PickPlaceSkillController

K = 12


def clearance_profile(obs: np.ndarray, env: PickPlaceScene) -> np.ndarray:
    from robosuite.utils.transform_utils import quat2mat

    expert = PickPlaceSkillController("pick_can", env=env)
    eef_quat, can = env.obs_layout["robot0_eef_quat"], env.obs_layout["Can_pos"]
    out = np.empty((len(obs), K))
    for i, row in enumerate(obs):
        closing = quat2mat(row[eef_quat])[:, 1]
        current = np.arctan2(closing[1], closing[0])
        out[i] = hand_clearance(current + np.arange(K) * np.pi / K, row[can], expert.surroundings(row))
    return np.clip(out, -0.2, 0.2)


def fit_and_test(x: np.ndarray, y: np.ndarray, train: np.ndarray, seed: int = 0) -> np.ndarray:
    torch.manual_seed(seed)
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    xt = torch.as_tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.as_tensor(y)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                              torch.nn.ReLU(), torch.nn.Linear(256, 3))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    idx = np.flatnonzero(train)
    rng = np.random.default_rng(seed)
    for _ in range(6000):
        b = torch.as_tensor(rng.choice(idx, 256))
        loss = torch.nn.functional.cross_entropy(net(xt[b]), yt[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return net(xt).argmax(-1).numpy()


def main() -> None:
    torch.set_num_threads(1)
    z = np.load(sys.argv[1])
    obs, yaw, episode = z["observations"], z["actions"][:, 5], z["episode_ids"]
    y = np.where(yaw < -0.5, 0, np.where(yaw > 0.5, 2, 1))
    train = episode < 1800
    env = PickPlaceScene()
    profile = clearance_profile(obs, env)
    test = ~train
    print(f"states: {len(y)} ({int(test.sum())} test); test labels: turn -1 {int((y[test] == 0).sum())}, "
          f"none {int((y[test] == 1).sum())}, +1 {int((y[test] == 2).sum())}")
    for seed in (0, 1, 2):
        for name, x in (("raw observation", obs), ("raw + clearance profile", np.hstack([obs, profile]))):
            pred = fit_and_test(x, y, train, seed)
            acc = (pred[test] == y[test]).mean()
            rec = [float((pred[test & (y == c)] == c).mean()) for c in (0, 2)]
            false_turn = float((pred[test & (y == 1)] != 1).mean())
            print(f"seed {seed}, {name}: accuracy {acc:.3f}; recall of turn -1 {rec[0]:.3f}, of turn +1 "
                  f"{rec[1]:.3f}; turns where the expert does not {false_turn:.3f}", flush=True)


if __name__ == "__main__":
    main()
