"""The National Assembly's Open API (SPEC §9): reading its answers and fetching them.

Plain code with no Discord and no store: ``records`` reads a response, ``bills`` turns a
bill's record into stages, ``fetch`` asks the service (on the shared httpx client), and
``keyguard`` keeps the key out of every log line and error.
"""
