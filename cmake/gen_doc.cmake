# cmake -DOSTEL=BINARY -DFORMAT=man|bash|zsh -DOUT=FILE -P gen_doc.cmake
# Writes the man page or a completion script from ostel's own option tables (util/opt_doc.h), so
# they are never written by hand. Written to a temporary file and renamed: no half-written output.
execute_process(COMMAND ${OSTEL} --dump-options=${FORMAT} OUTPUT_FILE ${OUT}.tmp
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    file(REMOVE ${OUT}.tmp)
    message(FATAL_ERROR "ostel --dump-options=${FORMAT} failed (${rc}): ${err}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
