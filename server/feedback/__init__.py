"""``POST /v1/feedback``: the page says whether a hint helped."""
