"""``hfn-hls generate``: a Vitis HLS project (and the RTL beside it) for one board."""
from __future__ import annotations

NAME = "generate"
HELP = ("write the project for a board: HLS C++ (firmware, testbench, tb_data, "
        "build_prj.tcl) and the RTL beside it")


MAX_VECTORS = 100_000          # test vectors in tb_data (each is simulated and stored as text)


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
    from ..atomic import check_destination, recover
    from ..project.schema import is_project
    from ..project.writer import PROJECT, generate, load_inputs
    from ._common import load_graph

    t0 = time.perf_counter()
    if args.vectors is not None and not 1 <= args.vectors <= MAX_VECTORS:
        raise HfnError(f"--vectors {args.vectors}", f"must be between 1 and {MAX_VECTORS}",
                       "give a smaller positive count")
    board = load_board(args.board)
    # leftovers of a killed run cleaned up, the destination refused before the (slow)
    # model is read; generate() checks again when it writes
    out = Path(args.output)
    for n in recover(out) if out.parent.is_dir() else []:
        print(f"note: {n}")
    check_destination(out, args.force, is_project, PROJECT)
    graph = load_graph(args.model)
    choice = select(args.lanes, graph, board, args.target_fps)
    lanes = choice.hls
    inputs = load_inputs(Path(args.inputs), graph) if args.inputs else None
    if inputs is not None and args.vectors and args.vectors > len(inputs):
        print(f"note: --vectors {args.vectors}, but {args.inputs} holds {len(inputs)} images: "
              f"tb_data gets all {len(inputs)}")
    notes: list[str] = []
    info = generate(graph, board, lanes, args.output, force=args.force, inputs=inputs,
                    vectors=args.vectors, notes_to=notes,
                    rtl_lanes=choice.rtl)
    for n in notes:
        print(f"note: {n}")
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
