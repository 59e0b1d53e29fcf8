"""Engine runners: an engine's pure core joined to this nation's node through its API.

A runner acts for one nation and holds no key: it reads what its node holds (its own data
and what partners released to it) and publishes through its node, which decides alone what
each partner receives.
"""
