#!/usr/bin/env bash
# The device check, on the GPU machine, from the repository root, with `.gpu/` carried
# (made by `cargo xtask cuda-build --pack`: tnet.gz, with-torch-libs.sh, this script, yardstick/).
# Writes everything under $OUT (the device tool's output folder) as it goes, so a call cut
# short still returns what was measured. One call, sized for about 8 minutes:
#   (a) CPU-vs-GPU agreement of outputs and every gradient (small and mpii, dense and Tucker,
#       f32 and bf16) against the f64 truth, next to the CPU f32 path;
#   (b) training-step times of the mpii preset, dense and Tucker 2,4,3,2,64,64,3,3, batch 8
#       and 32, f32 and bf16, and the PyTorch eager yardstick on the same configurations;
#   (c) the small default trained on the GPU for 2 epochs (250 steps): the loss must fall.
set -u
OUT="${OUT:-/tmp/tnet-device-out}"
mkdir -p "$OUT"
G=.gpu
gunzip -f "$G/tnet.gz" 2>/dev/null; chmod +x "$G/tnet"
nvidia-smi -L 2>&1 | tee "$OUT/gpu.txt"
bash "$G/with-torch-libs.sh" --check "$G/tnet" > "$OUT/libs.txt" 2>&1 || { cat "$OUT/libs.txt"; exit 127; }
T="bash $G/with-torch-libs.sh $G/tnet"
TUCKER="--param tucker --ranks 2,4,3,2,64,64,3,3"

echo "== (a) agreement" | tee -a "$OUT/summary.txt"
for check in "--preset small --param dense" "--preset small --param tucker --compression 10" \
             "--preset mpii --param dense" "--preset mpii $TUCKER" \
             "--preset mpii $TUCKER --precision bf16"; do
    timeout 120 $T check-device --device cuda $check --batch 4 --json \
        >> "$OUT/check.jsonl" 2>> "$OUT/check.err"
    echo "check $check rc=$?" | tee -a "$OUT/summary.txt"
done

echo "== (b) step times" | tee -a "$OUT/summary.txt"
for b in 8 32; do
    for p in "--param dense" "$TUCKER"; do
        for prec in f32 bf16; do
            line=$(timeout 120 $T bench-step --device cuda --preset mpii $p --batch $b --steps 6 --warmup 2 --precision $prec --json 2>> "$OUT/bench.err")
            echo "ours mpii $p batch $b $prec $line" | tee -a "$OUT/summary.txt"
        done
        tp="--stacks 2 --features 128 --size 256 $p"  # the mpii preset; same --param / --ranks
        line=$(timeout 180 bash "$G/yardstick/run_torch.sh" --device cuda --batch $b $tp --steps 6 --warmup 2 2>> "$OUT/torch.err" | tail -1)
        echo "torch mpii $p batch $b $line" | tee -a "$OUT/summary.txt"
        line=$(timeout 180 bash "$G/yardstick/run_torch.sh" --device cuda --batch $b $tp --steps 6 --warmup 2 --amp 2>> "$OUT/torch.err" | tail -1)
        echo "torch-amp mpii $p batch $b $line" | tee -a "$OUT/summary.txt"
    done
done

echo "== (c) training on the GPU" | tee -a "$OUT/summary.txt"
timeout 240 $T train --device cuda --epochs 2 --quiet --run-dir "$OUT/train-small" \
    > "$OUT/train.txt" 2>&1
echo "train rc=$?" | tee -a "$OUT/summary.txt"
tail -8 "$OUT/train.txt" | tee -a "$OUT/summary.txt"
cp "$OUT/train-small/log.jsonl" "$OUT/train-log.jsonl" 2>/dev/null
rm -f "$OUT"/train-small/*.safetensors
