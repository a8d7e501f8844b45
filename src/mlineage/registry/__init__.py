"""The model registry: immutable registry versions ``NAME@N`` of models by digest, and
aliases (``NAME@production``, ``NAME#production``) whose every move is an event with who, when and why, moved
by compare-and-set and guarded by the quality gates on promotion.

``model`` is pure (names, refs, as-of choice); ``events`` declares the event types and the projection;
``records`` reads the projection locally or from the server's ``/api/v1/registry``; ``service`` is what the
Client's methods do."""
