"""HTTP response compression, as HAProxy's compression filter (master and cli parse it; workers apply it).

- model.py: the settings (standard library only);
- keywords.py: `compression ...`, maxcomprate, maxcompcpuusage, maxzlibmem, tune.comp.maxlevel, tune.zlib.*;
- rules.py: when to compress and the rewritten head, as pure functions;
- codec.py: the streaming zlib encoders;
- budget.py: the per-worker ceilings;
- stream.py: what the engine calls at each point of an exchange.
"""
