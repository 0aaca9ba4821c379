#!/usr/bin/env bash
# The robosuite PickPlace scene's 8 skills (pick_<o> / place_<o> for milk, bread, cereal, can), as shipped in
# assets/skills: behaviour cloning of the scripted oracles with action chunking (predict 8 actions, execute 4;
# the best arm of assets/skills/ablation_pick_can.sh); place skills 100 demonstrations and 6 000 gradient steps,
# pick skills 300 and 8 000; evaluated on 100 seeded starts of the skill's own env (registered in the manifest).
# ≈ 5-6 min per place skill and 10 min per pick skill on one core, demonstrations and evaluation included.
# 2026-12-03: pick_can, pick_milk, place_can and place_milk are trained in the scene's -v1 skill envs
# (SKILLS="place_can place_milk pick_milk pick_can"): before a pick the arm moves to its ready pose in joint space
# and the hand is held vertical while the pick runs (envs/robosuite_scene.py PickPlaceScene.begin_skill); pick
# envs start each other object in its bin with probability 1/4 (PICK_OTHERS_IN_BIN). place_bread and place_cereal
# are still the -v0 ones; pick_cereal and pick_bread are -v1 (2026-12-04: 0.71 and 0.69 over 100 starts).
# 2026-12-04 (later): pick_bread retrained from the clearance-aware pick oracle (envs/robosuite_control.py
# clear_grasp_yaw_error) with 600 demonstrations, only the successful ones cloned (--demo-filter success, 544 of
# 600), 16 000 steps: 0.78 (0.69-0.85) over 100 starts, ≈ 24 min with other jobs beside it. Then the
# affordances:
# ./assets/skills/train_robosuite_affordances.sh
# 2026-12-04 (sixth session): pick_cereal v0003 from 900 demonstrations, 18 000 steps: 0.89 (0.81-0.94), trained on
# a lent 16-core machine (bench_results/robosuite_scene/more_demos_device.md; re-evaluated here at 0.89);
# place_cereal v0003 from 350 demonstrations in the -v1 env, 9 000 steps: 0.83 (0.74-0.89), trained here.
# Demonstrations are collected by DEMO_WORKERS processes (--demo-workers; the same demonstrations for any number).
# 2026-12-04 (seventh session): pick_bread v0005 is RL fine-tuning from the clone (--algo ibrl: a single-step BC
# proposal from the same 600 demonstrations, sparse success reward, 20 000 env steps, ≈ 28 min beside another job;
# deployed: the best periodic evaluation, at 5 000 steps): 0.84 (0.76-0.90) over 100 starts against 0.78 for the
# chunked clone (paired on the same starts: 16 vs 10 discordant, McNemar p = 0.33). Its demonstrations were copied
# from the 600-demonstration BC run (same env, seed and count: the same episodes) into the run directory and the
# run resumed, which is why its provenance says --resume.
# 2026-12-04 (eighth session): place_bread v0003 is trained in the -v2 place env, where half of the starts are staged
# by the shipped learned pick (envs/robosuite_scene.py STAGING_PICKS): 200 demonstrations, the 150 successful ones
# cloned, 8 000 steps, ≈ 8 min beside another job. place_bread -v0 had dropped the bread at the start of 13 of its 22
# failures in the chain (development layouts 1000-1029). Over 100 starts of -v2: 0.73 (0.924 given the bread held, 79
# starts). The same recipe for place_milk (-v2: 0.96, 0.980 given the milk held) did not change its chain success on
# the development layouts (19 of 24 executions against 17 of 23), so place_milk stays the -v1 skill.
# place_cereal v0005 (eighth session): the same recipe (350 demonstrations, 340 successful, 9 000 steps, -v1) from the
# place oracle with carry clearance (envs/robosuite_control.py pick_place_action lift_clear: the carried box's bottom
# rises above the tallest neighbour before moving sideways; the old oracle knocked a neighbour over in 21 of 40
# starts): 1.00 (0.96-1.00) over 100 starts (v0003: 0.83), ≈ 14 min beside another job.
# Since the eighth session the place expert lifts a carried object clear of its neighbours (clear_carry=True), so
# re-running this script for place_can, place_milk or place_bread (trained before it) collects other demonstrations
# than those skills were trained on: they reproduce exactly only at the git sha in their manifests' provenance.
# 2026-12-04 (tenth session): the pick expert travels above the tallest other object in the source bin and comes down
# on its object (envs/robosuite_control.py approach_height; the scripted pick_can knocked the milk carton over in 8 of
# 30 development layouts, 1 with it). pick_can v0012 is cloned from it with a Gaussian-mixture head (--policy-head
# gmm, robomimic's BC-GMM): 0.94 (0.88-0.97) over 100 starts, against 0.88 with the deterministic head on the same
# 300 demonstrations; ≈ 8 min (demonstrations 3.5, training 1.3, evaluation 2). Its demonstrations were copied from
# the deterministic run (same env, seed and count: the same episodes) and the run resumed (hence --resume in its
# provenance). pick_bread v0007, from the same expert and head with the v0004 data recipe (600 demonstrations, the 583
# successful ones cloned, 16 000 steps): 0.93 (0.86-0.97) over 100 starts, against 0.84 for the RL fine-tuned v0005
# (IBRL, seventh session: --algo ibrl --n-demos 600 --demo-filter success --bc-pretrain-steps 8000
# --bc-dagger-rounds 0 --steps 20000 --eval-every 2500 --reward success); ≈ 13 min with 2 demonstration workers
# (registered by a resumed run on the same demonstrations, as pick_can; the manifests' wall_s count only the resumed
# part: training and evaluation).
# Re-running this script for pick_milk or pick_cereal (trained before this change) collects
# other demonstrations than those skills were trained on: they reproduce exactly only at their manifests' git sha.
# 2026-12-06 (twenty-first session): pick_milk v0014 and place_milk v0009 are trained as a pair. pick_milk: the current
# pick expert, GMM head, DART noise 0.1 on the expert's actions (--demo-noise), 600 demonstrations, the successful ones
# cloned, 16 000 steps (twentieth session, 14 min with 2 collection workers): 0.93 (0.86-0.97) over 100 starts.
# place_milk: cloned in the -v3 place env, whose learned-pick starts are staged by that pick_milk v0014
# (envs/robosuite_scene.py PAIRED_STAGING_PICKS): 200 demonstrations, the successful ones cloned, 8 000 steps, 7 min
# with 2 collection workers: 0.97 (0.92-0.99). The -v1 place_milk had been cloned on the hand-overs of the pick expert
# before its clearance yaw, and stalled after the newer pick (docs/results/robosuite.md).
# place_can v0011/v0012 (same session): the same pairing for the can, cloned in place_can-v3 (staged by the shipped
# pick_can v0015) from the current place expert (carry clearance), with place_can's v0009 recipe (400 demonstrations,
# the 375 successful ones cloned, 12 000 steps), 9.6 min with 2 collection workers: 0.93 (0.86-0.97), 0.98 given the can
# held. (v0009, -v1, 2026-12-04 before the carry clearance, had no branch here: it was trained with the same options.)
# place_bread v0005/v0006 (same session): the same pairing for the bread, cloned in place_bread-v3 (staged by the
# shipped pick_bread v0011) with its v0003 recipe (200 demonstrations, the 159 successful ones cloned, 8 000 steps),
# ≈ 7 min with 2 collection workers: 0.71 (0.61-0.79), 0.89 given the bread held (v0003 in -v2: 0.73, 0.92).
# pick_can v0016/v0017 (twenty-second session): cloned in pick_can-v2 (the -v1 starts; a lift counts only with every
# other object still standing, so --demo-filter success also drops the expert's own knock-overs) from 2 000
# demonstrations, GMM head, DART noise 0.1, 16 000 steps (the 1 978 successful cloned; 21 min with 2 collection workers):
# 0.95 (0.89-0.98) in -v2 (v0015 on the same starts: 0.90). 600 demonstrations gave 0.89, and 2 000 with the turning
# steps oversampled (--oversample-dim 5 --oversample-factor 20) 0.90 (docs/results/robosuite.md). place_can is kept (v0012 reads 0.94,
# 0.97 given the can held, in place_can-v4, staged by this pick).
# place_can v0013/v0014 (twenty-third session): v0011's recipe (400 demonstrations, the 387 successful ones cloned,
# 12 000 steps; 12 min with 2 collection workers) in the new place_can-v5, where every start is staged by pick_can
# v0016 from the pick envs' crowding (envs/robosuite_scene.py PLACE_STAGING_STARTS), so the hand-overs with the hand
# turned (the clearance yaw) are as common as after a plan's first pick: 0.94 (0.88-0.97) in -v5 (v0012 on the same
# starts 0.90); the can placed in 90 of 91 development chains against 82 for v0012 (docs/results/robosuite.md).
# pick_can v0018/v0019 (twenty-fourth session): v0016's recipe (2 000 demonstrations, the 1 972 successful cloned, GMM
# head, DART 0.1, 16 000 steps; 25 min with 2 collection workers) in the new pick_can-v3, where half the starts are a
# plan's first pick (full source bin, arm as reset; envs/robosuite_scene.py FIRST_PICK_SHARE): 0.94 (0.88-0.97) in -v3
# (v0016 on the same starts 0.91), 0.95 in -v2 (v0016 0.95); clean first picks on development layouts 1000-1099
# (the can lifted, the milk carton left standing) 88 against 86 (docs/results/robosuite.md).
# place_can v0015/v0016 (twenty-fourth session, end): v0013's recipe (400 demonstrations, the 388 successful cloned,
# 12 000 steps; 9 min with 2 collection workers) in the new place_can-v6 (every start staged by pick_can v0018, each
# other object in its bin with probability 1/2): 0.97 (0.92-0.99) in -v6 (v0013 0.96); it placed the can in the 4
# development can-last states where v0013 stalled (docs/results/robosuite.md).
# place_cereal v0008 (twenty-fifth session): v0005's recipe (350 demonstrations, the 340 successful cloned, 9 000
# steps; 12 min with 2 collection workers) in the new place_cereal-v7, where every start is staged by pick_cereal
# v0006 and the other objects drawn to start in their bins are put there by the expert's pick and place: 0.98
# (0.93-0.99) there against v0005's 0.77 (0.68-0.84). v0010 is v0009 (its affordance) with the 100-episode final
# evaluation recorded (the run used --final-eval-episodes 1, this script's 100 gives the same evaluation).
# pick_bread v0012/v0013 (twenty-sixth session): pick_can v0018's recipe (2 000 demonstrations, the 1 913 successful
# cloned, GMM head, DART 0.1, 16 000 steps; 16 min with 2 collection workers) in pick_bread-v3 (half the starts a
# plan's first pick): 0.76 (0.67-0.83) there, as v0011 on the same starts; over the affordance's 1 200 -v2 starts
# (900 training, 300 held-out) it lifted the bread at 645 of the 791 starts applicable to both, v0011 at 616 (87 vs
# 58 discordant).
# Affordance v0013: PICK_V2="pick_bread:900" PICK_TEST="--n-test 300 --test-seed 3000150" (held-out AUROC 0.910).
# pick_can v0020/v0021 (twenty-ninth session): v0018's recipe in pick_can-v4 (a third of the starts a plan's first
# pick, a third a plan's later pick, the rest -v2's; 2 000 demonstrations of seed 0, the 1 979 successful cloned) with
# the hand's clearance profile appended to the policy's input (--policy-features clearance); 265 s of training on
# the twenty-eighth session's demonstrations of the same seed (collection ≈ 25 min with 2 workers). 0.96 in -v4 and
# in -v3 (v0018: 0.92, 0.94 on the same starts). Trained from the working tree of f60c2ce before its commit (the
# manifests' git_sha reads 5e603a6; no package code changed in between). Affordance v0021: PICK_V2="pick_can:900"
# (held-out AUROC 0.957).
# place_can v0017/v0018 (thirtieth session): v0015's recipe (400 demonstrations, the 386 successful cloned, 12 000
# steps; 14 min with 2 collection workers) in the new place_can-v9 (every start staged by pick_can v0020, each other
# object in its bin with probability 1/2, put there by the expert's pick and place): 0.96 (0.90-0.98) there against
# v0015's 0.86. Affordance v0018: PLACE_V9="place_can" (held-out AUROC 0.989).
# pick_bread v0014/v0015 (trained in the twenty-ninth session, shipped in the thirty-first under the rule declared
# then in bench_results/robosuite_scene/EVALUATION_SEEDS.md): v0012's recipe in pick_bread-v3 with the hand's
# clearance profile appended to the policy's input (--policy-features clearance, as pick_can v0020); the 1 913 of
# 2 000 demonstrations of seed 0 cloned, 31 min with 2 collection workers beside other jobs. 0.91 (0.84-0.95) in -v3
# against v0012's 0.76; first picks from the full bin (layouts 20000-20099) knock a neighbour over at 6 of 100
# against v0012's 26. Affordance v0015: PICK_V2="pick_bread:900" PICK_TEST="--n-test 300 --test-seed 3000150"
# (held-out AUROC 0.924).
set -euo pipefail
cd "$(dirname "$0")/../.."
SKILLS=${SKILLS:-"pick_can place_can pick_milk place_milk pick_bread place_bread pick_cereal place_cereal"}
DEMO_WORKERS=${DEMO_WORKERS:-1}
for s in $SKILLS; do
  if [[ $s == pick_can || $s == pick_bread ]]; then data=(--n-demos 2000 --steps 16000 --eval-every 16000
                                                         --demo-filter success --policy-head gmm --demo-noise 0.1)
    data+=(--policy-features clearance)
  elif [[ $s == pick_cereal ]]; then data=(--n-demos 900 --steps 18000 --eval-every 18000 --demo-filter success)
  elif [[ $s == place_cereal ]]; then data=(--n-demos 350 --steps 9000 --eval-every 9000 --demo-filter success)
  elif [[ $s == place_bread || $s == place_milk ]]; then
    data=(--n-demos 200 --steps 8000 --eval-every 8000 --demo-filter success)
  elif [[ $s == place_can ]]; then data=(--n-demos 400 --steps 12000 --eval-every 12000 --demo-filter success)
  elif [[ $s == pick_milk ]]; then data=(--n-demos 600 --steps 16000 --eval-every 16000 --demo-filter success
                                        --policy-head gmm --demo-noise 0.1)
  elif [[ $s == pick_* ]]; then data=(--n-demos 300 --steps 8000 --eval-every 8000); else
    data=(--n-demos 100 --steps 6000 --eval-every 6000); fi
  env_version=v1; if [[ $s == place_milk || $s == place_bread ]]; then
    env_version=v3; elif [[ $s == place_can ]]; then env_version=v9; elif [[ $s == pick_bread ]]; then
    env_version=v3; elif [[ $s == pick_can ]]; then env_version=v4; elif [[ $s == place_cereal ]]; then env_version=v7; fi
  skillstack train "robosuite-pickplace/$s-$env_version" --algo bc "${data[@]}" --chunk-size 8 --demo-workers "$DEMO_WORKERS" \
      --execute-steps 4 --eval-episodes 10 --final-eval-episodes 100 --skill-name "$s" \
      --threads 1 --library assets/skills --run-dir "runs/robosuite_scene/$s"
done
