"""``hfn-hls generate``: a Vitis HLS project (and the RTL beside it) for one board."""
from __future__ import annotations

NAME = "generate"
HELP = ("write the project for a board: HLS C++ (firmware, testbench, tb_data, "
        "build_prj.tcl) and the RTL beside it")


def add_arguments(p) -> None:
    from ..lanes import DEFAULT

    p.add_argument("model", help="model.onnx (QONNX export) or an IR JSON file")
    p.add_argument("-o", "--output", required=True, metavar="PRJ", help="project directory")
    p.add_argument("--board", default="pynq-z2", help="board name or board JSON (default pynq-z2)")
    p.add_argument("--lanes", default="auto",
                   help="RTL parallelism: auto (default: the pixel engine sized for the "
                        "board), P64S4 (pixel engine: P pixel lanes x S streams), or N / "
                        f"P_OUTxP_IN (the channel engine; the HLS C++ uses {DEFAULT} lanes "
                        "unless given so)")
    p.add_argument("--target-fps", type=float, metavar="F",
                   help="with --lanes auto: the smallest configuration reaching F frames/s")
    p.add_argument("--force", action="store_true", help="replace a non-empty PRJ directory")
    p.add_argument("--inputs", metavar="FILE.npy",
                   help="input codes (N, H, W, C) for tb_data (default: pseudo-random codes)")
    p.add_argument("--vectors", type=int, metavar="N",
                   help="number of test vectors in tb_data (default 200, or all of --inputs)")


def run(args) -> int:
    import time
    from pathlib import Path

    from ..boards import load_board
    from ..errors import HfnError
    from ..rtl_backend.pixel.select import describe, select
    from ..project.writer import generate, load_inputs
    from ._common import load_graph

    t0 = time.perf_counter()
    if args.vectors is not None and args.vectors < 1:
        raise HfnError(f"--vectors {args.vectors}", "must be at least 1", "give a positive count")
    board = load_board(args.board)
    if not Path(args.model).is_file():
        raise HfnError(args.model, "file not found", "give a model.onnx or an IR JSON file")
    graph = load_graph(args.model)
    choice = select(args.lanes, graph, board, args.target_fps)
    lanes = choice.hls
    inputs = load_inputs(Path(args.inputs), graph) if args.inputs else None
    info = generate(graph, board, lanes, args.output, force=args.force, inputs=inputs,
                    vectors=args.vectors, rtl_lanes=choice.rtl)
    est = info.hls["estimate"]
    use = info.hls["usage"]
    print(f"wrote {args.output}: {graph.name} for {board.name} ({board.part}, "
          f"{board.clock_mhz:g} MHz), HLS lanes {lanes}, {info.tb_vectors} test vectors "
          f"in {time.perf_counter() - t0:.1f} s")
    print("  storage bits: " + ", ".join(f"{k} {v}" for k, v in sorted(est["storage_bits"].items()))
          + f" (total {est['storage_bits_total']})")
    for line in describe(choice, board.clock_mhz):
        print(line)
    print(f"  HLS estimate: BRAM_18K {est['bram_18k']} ({use['bram_18k']:.0%}), LUT {est['lut']} "
          f"({use['lut']:.0%}), FF {est['ff']} ({use['ff']:.0%}), DSP 0")
    return 0
