"""The rollcourt explorer: one page that shows the whole devnet at a glance.

``python -m explorer`` serves a FastAPI app that reads every role's public API server-side (the
L1's JSON-RPC, the sequencer, the follower, the challenger, the light client, the prover) and
aggregates them into ``GET /api/overview``; ``GET /`` is a static page (plain HTML and JS, no
build step, no external URL) that renders that overview and refreshes it live.  The browser
only ever talks to the explorer, so no role needs CORS and the page works offline.
"""
