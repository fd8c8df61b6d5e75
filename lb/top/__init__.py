"""`lbctl top`: a live view of a running lb over its stats socket (cli).

model: `show stat` CSV into screen lines (pure); client: the socket;
app: the textual application.
"""
