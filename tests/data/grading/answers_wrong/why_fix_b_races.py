def why_still_a_data_race():
    return "d"


def what_the_reader_can_get():
    return "C"
