"""Input drift: are today's inputs still like the ones the app was tested on?"""
