"""The worker: claims queued executions, runs each in the sandbox, streams and
records its output, and keeps the fleet honest (heartbeats, lost workers).

It talks to the API side only through the execution service and the event
bus, never through shared memory, so the same code runs embedded in the API
process or as `scriptbox worker` on another machine.
"""
