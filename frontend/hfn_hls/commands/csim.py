"""``hfn-hls csim``: compile a generated project with g++ and run its testbench."""
from __future__ import annotations

NAME = "csim"
HELP = "C simulation of a generated project (g++ and hls4ml's ap_types) against tb_data"


def add_arguments(p) -> None:
    p.add_argument("project", metavar="PRJ", help="project directory written by generate")
    p.add_argument("-n", type=int, metavar="N", help="number of test vectors (default: all)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args) -> int:
    import json

    from ..errors import HfnError
    from ..hls.csim import run_csim

    if args.n is not None and args.n < 1:
        raise HfnError(f"-n {args.n}", "must be at least 1", "give a positive count")
    res = run_csim(args.project, args.n)
    if args.json:
        print(json.dumps(res, sort_keys=True))
    else:
        for line in res["first_mismatches"]:
            print(line)
        if args.n is not None and args.n > res["available"]:
            print(f"note: -n {args.n}, but tb_data holds {res['available']} vectors: "
                  f"checked all {res['available']}")
        print(f"csim {res['project']}: {res['vectors']} vectors, {res['mismatches']} mismatches "
              f"(build {res['build_seconds']:.1f} s, run {res['run_seconds']:.1f} s)")
    if res["vectors"] < 1:                 # never pass on nothing (load_tb_data refuses it)
        raise HfnError(args.project, "no test vector was checked", "regenerate the project")
    return 0 if res["mismatches"] == 0 else 1
