"""Regenerate tests/data/responses.jsonl: real greedy output of the embedded model.

    SPARKS_DATA_DIR=../shared/data python tests/data/make_responses.py OUT.jsonl

The first 12 AIME 2024 problems and the first 6 AMC problems, prompted like the sparks tasks
with ``--apply_chat_template``, greedy, ``max_new_tokens=512`` (so some responses loop until
the budget). One thread: on a shared CPU, torch's thread pool slows down badly. The
``loop`` field of the checked-in file was set by reading each response (see
tests/reports/test_labels_real.py); the script does not set it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

MAX_NEW_TOKENS = 512
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def main(out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness_ext.embedded import embedded_model_path

    torch.set_num_threads(1)
    data = Path(os.environ.get("SPARKS_DATA_DIR", "../shared/data"))
    aime = [json.loads(line) for line in (data / "aime.jsonl").open()]
    amc = [json.loads(line) for line in (data / "amc.jsonl").open()]
    rows = [r for r in aime if r["year"] == 2024][:12] + amc[:6]
    path = embedded_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    with out.open("w", encoding="utf-8") as stream:
        for row in rows:
            chat = [{"role": "user", "content": f"{row['problem'].strip()}\n\n{INSTRUCTION}"}]
            prompt = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
            with torch.no_grad():
                generated = model.generate(
                    **encoded,
                    max_new_tokens=MAX_NEW_TOKENS,
                    do_sample=False,
                    pad_token_id=tokenizer.eos_token_id,
                )
            ids = generated[0, encoded["input_ids"].shape[1] :].tolist()
            ended = tokenizer.eos_token_id in ids
            n_tokens = ids.index(tokenizer.eos_token_id) if ended else len(ids)
            text = tokenizer.decode(ids[:n_tokens], skip_special_tokens=True)
            stream.write(
                json.dumps(
                    {
                        "id": row["id"],
                        "gold": row["answer"],
                        "n_tokens": n_tokens,
                        "ended": ended,
                        "max_gen_toks": MAX_NEW_TOKENS,
                        "response": text,
                    }
                )
                + "\n"
            )
            stream.flush()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
