#!/usr/bin/env bash
# device run: robosuite scene skills with more demonstrations, demos collected by 15 worker processes.
export PYTHONUNBUFFERED=1 MUJOCO_GL=disable
L=$OUT/log.txt
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .dev/whl/*.whl >>$L 2>&1 || { echo pipfail >>$L; exit 1; }
mkdir -p /tmp/ns/skillstack; for d in envs skills planners launch; do ln -sfn $PWD/$d /tmp/ns/skillstack/$d; done
export PYTHONPATH=/tmp/ns:$PWD/.dev/site:/tmp/site
nproc >>$L; python3 -c "import torch,numpy,mujoco;print(torch.__version__,numpy.__version__,mujoco.__version__,torch.cuda.is_available())" >>$L 2>&1
job() {  # name n_demos workers steps
  s=$1; timeout 545 python3 -c "from skillstack.launch.cli import main; main()" train "robosuite-pickplace/$s-v1" --algo bc \
    --n-demos $2 --demo-workers $3 --steps $4 --eval-every $4 --demo-filter success --chunk-size 8 --execute-steps 4 \
    --eval-episodes 10 --final-eval-episodes 100 --skill-name $s --threads 1 --library /tmp/lib --run-dir /tmp/runs/$s \
    > /tmp/$s.log 2>&1
  echo "== $s rc=$?" >>$L; grep -v "WARNING\|INFO\|it/s\]\|ep/s\]" /tmp/$s.log | tail -8 >>$L; tail -2 /tmp/runs/$s/metrics.jsonl >>$L 2>/dev/null
  v=$(ls /tmp/lib/$s 2>/dev/null | tail -1)
  if [ -n "$v" ]; then mkdir -p $OUT/$s; cp /tmp/lib/$s/$v/manifest.json /tmp/lib/$s/$v/policy.safetensors $OUT/$s/; fi
}
job pick_bread 1000 6 20000 &
job pick_cereal 900 5 18000 &
job place_bread 350 2 9000 &
job place_cereal 350 2 9000 &
wait
echo done >>$L
