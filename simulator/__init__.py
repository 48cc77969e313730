"""A stand-in for Plivo's PHLO runner, so the whole desk runs and is tested on one machine.

It serves the PHLO API and the Voice API's multiparty calls as Plivo does (the official SDK drives
it), keeps a model of the multiparty calls behind them, and reports every change back to the desk
as Plivo's signed callbacks would. Parts, one job each:

- `model`: one multiparty call's state and the events each change reports (pure);
- `events`: the callback parameters of an event, shaped as Plivo sends them;
- `switchboard`: all live calls and runs, finding calls by address, timing (ringing, voicemail);
- `callbacks`: signed delivery, in order per call, with retries;
- `traffic`: simulated customers calling in and ringing available agents;
- `faults`: latency, errors, stuck requests, a rotated token, duplicate and reordered callbacks;
- `directory`: the PHLO apps configured in our database;
- `app`: the PHLO API (`/v1/phlo/…`) and the controls (`/_sim/…`);
- `voice`: the Voice API's multiparty calls (`/v1/Account/{auth_id}/MultiPartyCall/…`), all the official SDK sends;
- `http`: the HTTP plumbing both share (requests, Plivo's answers and refusals, routes, parameters);
- `server`: start and stop it in-process, in a thread, or from the `phlo_simulator` command;
- `tasks`: background tasks that are stopped together.

docs/simulator.md describes its knobs and how to use it.
"""
