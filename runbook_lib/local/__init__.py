"""The embedded local AWS: moto in server mode behind the suite's own WSGI dispatcher.

moto is reached only through its public server entry points (``moto.server``) and the AWS wire
protocol; the dispatcher adds what moto lacks and forwards everything else untouched.
"""
