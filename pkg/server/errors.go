package server

import (
	"context"
	"errors"
	"syscall"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tacit-gov/tacit/pkg/fault"
)

// ErrorDomain is the ErrorInfo domain of every tacit error.
const ErrorDomain = "tacit.v1"

// codeOf is the one table from error kinds to gRPC codes.
var codeOf = map[fault.Kind]codes.Code{
	fault.Internal:           codes.Internal,
	fault.Invalid:            codes.InvalidArgument,
	fault.FailedPrecondition: codes.FailedPrecondition,
	fault.NotFound:           codes.NotFound,
	fault.PermissionDenied:   codes.PermissionDenied,
	fault.Unauthenticated:    codes.Unauthenticated,
	fault.Unavailable:        codes.Unavailable,
}

// toStatus turns any error from the core into a gRPC status with
// google.rpc details: ErrorInfo always, BadRequest for invalid input,
// PreconditionFailure for refused state.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "the request was cancelled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "the request's deadline passed before it completed")
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return status.Error(codes.Unavailable, "the server's disk is full: nothing was stored; retry later (the operator must free space)")
	}
	f, ok := fault.As(err)
	if !ok {
		return status.Error(codes.Internal, "internal error: "+err.Error()+"; the server log has details, report it to the operator")
	}
	st := status.New(codeOf[f.Kind], f.Error())
	info := &errdetails.ErrorInfo{Reason: f.Reason, Domain: ErrorDomain}
	var withDetails *status.Status
	switch {
	case f.Kind == fault.Invalid && len(f.Violations) > 0:
		br := &errdetails.BadRequest{}
		for _, v := range f.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Subject, Description: v.Description, Reason: v.Type})
		}
		withDetails, err = st.WithDetails(info, br)
	case f.Kind == fault.FailedPrecondition && len(f.Violations) > 0:
		pf := &errdetails.PreconditionFailure{}
		for _, v := range f.Violations {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: v.Type, Subject: v.Subject, Description: v.Description})
		}
		withDetails, err = st.WithDetails(info, pf)
	default:
		withDetails, err = st.WithDetails(info)
	}
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}
